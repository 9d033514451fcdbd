//! What every command needs: configuration, logging, the store and the matcher.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sportello_core::config::Config;
use sportello_core::store::Store;
use sportello_encoder::CachedEncoder;
use sportello_faq::semantic::Vectors;
use sportello_faq::{Matcher, Office, Sheet, Synonyms};

const DEFAULT_CONFIG: &str = "config/sportello.toml";

/// Read the configuration: an explicit `-c FILE` must exist; the default path may be missing.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = match path {
        Some(p) => (p, true),
        None => (Path::new(DEFAULT_CONFIG), false),
    };
    Ok(Config::load(path, required)?)
}

/// Structured logs on stderr; JSON when `SPORTELLO_LOG_FORMAT=json`. `RUST_LOG` filters.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only for a person at a terminal: a log file or a journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if std::env::var("SPORTELLO_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Exit code for an error: 2 for configuration errors and an unavailable database.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause
            .downcast_ref::<sportello_core::config::ConfigError>()
            .is_some()
        {
            return 2;
        }
        if let Some(core) = cause.downcast_ref::<sportello_core::Error>()
            && (core.is_unavailable() || matches!(core, sportello_core::Error::Config(_)))
        {
            return 2;
        }
    }
    1
}

/// A database URL with any password hidden, for messages.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Connect and migrate.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(
        &config.database.url,
        config.database.max_connections,
        Duration::from_secs(config.database.timeout_secs),
    )
    .await
    .with_context(|| {
        format!(
            "cannot open the database {}",
            redacted_url(&config.database.url)
        )
    })?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// The offices of `sheets.offices`; none when the file is missing.
pub fn offices(config: &Config) -> anyhow::Result<Vec<Office>> {
    let path = &config.sheets.offices;
    if !path.exists() {
        tracing::warn!(path = %path.display(), "no offices file (sheets.offices); sheets cannot name offices");
        return Ok(Vec::new());
    }
    Ok(sportello_faq::load_offices(path)?)
}

/// The synonyms of `sheets.synonyms`; none when the file is missing.
pub fn synonyms(config: &Config) -> anyhow::Result<Synonyms> {
    let path = &config.sheets.synonyms;
    if !path.exists() {
        tracing::warn!(path = %path.display(), "no synonyms file (sheets.synonyms)");
        return Ok(Synonyms::default());
    }
    Ok(sportello_faq::load_synonyms(path)?)
}

/// Load sheets from a folder or CSV, logging warnings.
pub fn load_sheets(path: &Path, offices: &[Office]) -> anyhow::Result<Vec<Sheet>> {
    let loaded = sportello_faq::load_sheets(path, offices)?;
    for w in &loaded.warnings {
        tracing::warn!(%w, "sheet warning");
    }
    Ok(loaded.sheets)
}

/// The sentence encoder of `matcher.model` when `matcher.semantic`.
pub fn encoder(config: &Config) -> anyhow::Result<Option<Arc<CachedEncoder>>> {
    let m = &config.matcher;
    if !m.semantic {
        return Ok(None);
    }
    let encoder = CachedEncoder::shared(&m.model).with_context(|| {
        format!(
            "matcher.model = {}: cannot load the encoder (set matcher.semantic = false for the lexical matcher alone)",
            m.model.display()
        )
    })?;
    Ok(Some(encoder))
}

/// Build the matcher over sheets, with the encoder when there is one (embedding the texts
/// `known` lacks).
pub fn matcher(
    config: &Config,
    sheets: &[Sheet],
    encoder: Option<Arc<CachedEncoder>>,
    known: &Vectors,
) -> anyhow::Result<Matcher> {
    let synonyms = synonyms(config)?;
    Ok(match encoder {
        Some(e) => Matcher::with_semantic(sheets, &synonyms, config.matcher.clone(), e, known),
        None => Matcher::new(sheets, &synonyms, config.matcher.clone()),
    })
}
