//! `user add`, `user passwd` and `token create`.

use std::io::BufRead;

use anyhow::Context;
use sportello_core::config::Config;
use sportello_core::model::Role;

use crate::setup;

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_string())
}

/// `sportello user add NAME --role ROLE`, the password read from standard input.
pub async fn add_user(config: &Config, name: &str, role: Role) -> anyhow::Result<u8> {
    let password = read_password()?;
    let password = password.as_str();
    let store = setup::open_store(config).await?;
    let result = store.add_user(name, role, password).await;
    store.close().await;
    result?;
    println!("user {name} added as {}", role.as_str());
    Ok(0)
}

/// `sportello user passwd NAME [--temporary]`, the password read from standard input.
pub async fn set_password(config: &Config, name: &str, temporary: bool) -> anyhow::Result<u8> {
    let password = read_password()?;
    let store = setup::open_store(config).await?;
    let result = store.set_password(name, &password, temporary).await;
    store.close().await;
    result?;
    if temporary {
        println!("password of {name} set; it must be changed at the next login");
    } else {
        println!("password of {name} set");
    }
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
