//! `user add` and `token create`.

use std::io::BufRead;

use anyhow::Context;
use sportello_core::config::Config;
use sportello_core::model::Role;

use crate::setup;

/// `sportello user add NAME --role ROLE`, the password read from standard input.
pub async fn add_user(config: &Config, name: &str, role: Role) -> anyhow::Result<u8> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let store = setup::open_store(config).await?;
    let result = store.add_user(name, role, password).await;
    store.close().await;
    result?;
    println!("user {name} added as {}", role.as_str());
    Ok(0)
}

/// `sportello token create NAME --role ROLE`: the token alone on the last line.
pub async fn create_token(config: &Config, name: &str, role: Role) -> anyhow::Result<u8> {
    let store = setup::open_store(config).await?;
    let token = store.create_token(name, role).await;
    store.close().await;
    let token = token?;
    println!(
        "API token {name:?} created with role {}; it is shown only now:",
        role.as_str()
    );
    println!("{token}");
    Ok(0)
}
