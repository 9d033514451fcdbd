//! Configuration: `config/sportello.toml`, overridden by `SPORTELLO_<SECTION>__<KEY>`
//! environment variables; secrets only from the environment.
//!
//! This module loads the file, applies the environment and names the key of any problem;
//! each section's schema, defaults and checks live in a module of its own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sportello_faq::MatcherParams;

mod email;
mod server;
mod site;
mod telegram;
mod texts;
mod webchat;
mod x;

pub use email::EmailConfig;
pub use server::{Cidr, ConsoleConfig, DatabaseConfig, DispatcherConfig, SheetsConfig};
pub use site::SiteConfig;
pub use telegram::{TelegramConfig, TelegramMode};
pub use texts::Texts;
pub use webchat::WebchatConfig;
pub use x::{XAuth, XConfig};

/// A secret value (token, password). Its `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret read from somewhere other than the environment (tests, benchmarks).
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself; call only where it is sent to the platform.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Keys whose values are secrets: they may be set only through the environment.
pub const SECRET_KEYS: &[&str] = &[
    "telegram.token",
    "telegram.webhook_secret",
    "x.client_secret",
    "x.refresh_token",
    "x.consumer_key",
    "x.consumer_secret",
    "x.access_token",
    "x.access_token_secret",
    "email.password",
    "email.smtp_password",
];

/// A configuration problem, naming the key and, when there is one, the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}`{}: {message}", .value.as_ref().map(|v| format!(" = {v:?}")).unwrap_or_default())]
pub struct ConfigError {
    /// The offending key, e.g. `database.url`.
    pub key: String,
    /// The offending value, when there is one and it is not a secret.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A problem with `key` (and its value, unless it is a secret).
    pub fn new(key: &str, value: Option<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            value,
            message: message.into(),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[database]`
    pub database: DatabaseConfig,
    /// `[console]`
    pub console: ConsoleConfig,
    /// `[sheets]`
    pub sheets: SheetsConfig,
    /// `[matcher]`
    pub matcher: MatcherParams,
    /// `[dispatcher]`
    pub dispatcher: DispatcherConfig,
    /// `[texts]`: what the bot says to citizens, in Italian.
    pub texts: Texts,
    /// `[telegram]`
    pub telegram: TelegramConfig,
    /// `[x]`
    pub x: XConfig,
    /// `[email]`
    pub email: EmailConfig,
    /// `[webchat]`
    pub webchat: WebchatConfig,
    /// `[office]`: the calendar response times are measured in.
    pub office: crate::calendar::OfficeConfig,
    /// `[site]`: the body named in every page's header, and the footer's links.
    pub site: SiteConfig,
}

impl Config {
    /// Read `path` (when given and present), apply the environment, and validate.
    ///
    /// `required` says whether a missing file is an error (an explicit `-c FILE`) or means
    /// the built-in defaults (the default path).
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        let file_key = path.display().to_string();
        let table = match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str::<toml::Table>(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                ConfigError::new(
                    &file_key,
                    None,
                    match line {
                        Some(l) => format!("invalid TOML at line {l}: {}", e.message()),
                        None => format!("invalid TOML: {}", e.message()),
                    },
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => toml::Table::new(),
            Err(e) => {
                return Err(ConfigError::new(
                    &file_key,
                    None,
                    format!("cannot read: {e}"),
                ));
            }
        };
        Self::from_table(table, std::env::vars())
    }

    /// Build from a parsed file and environment variables.
    pub fn from_table(
        mut table: toml::Table,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        for key in SECRET_KEYS {
            let (section, name) = key.split_once('.').unwrap_or_default();
            if table.get(section).and_then(|s| s.get(name)).is_some() {
                return Err(ConfigError::new(
                    key,
                    None,
                    format!(
                        "secrets are read only from the environment: set {} instead",
                        env_name(key)
                    ),
                ));
            }
        }
        let mut defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
        // `Texts::default()` has its hours written from the shipped `[office]`; a file's own
        // `[office]` must write them instead, so the default is the shipped template.
        if let Some(toml::Value::Table(texts)) = defaults.get_mut("texts") {
            texts.insert(
                "hours".into(),
                toml::Value::String(texts::shipped_text("texts", "hours")),
            );
        }
        // Always through the table, so the hours template below is written from this file's
        // `[office]`.
        table
            .entry("texts")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        // Keys a file leaves out take their defaults, section by section (the texts' defaults
        // are the shipped file's, so a partial `[texts]` is completed from it).
        for (section, keys) in &defaults {
            if let (Some(keys), Some(toml::Value::Table(given))) =
                (keys.as_table(), table.get_mut(section))
            {
                for (key, value) in keys {
                    given.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
        let overrides: BTreeMap<String, String> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("SPORTELLO_")?;
                let (section, key) = rest.split_once("__")?;
                Some((
                    format!("{}.{}", section.to_lowercase(), key.to_lowercase()),
                    v,
                ))
            })
            .collect();
        for (key, value) in overrides {
            let (section, name) = key.split_once('.').unwrap_or_default();
            let default = defaults.get(section).and_then(|s| s.get(name));
            let parsed = typed_value(&key, &value, default)?;
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry.as_table_mut() {
                Some(t) => {
                    t.insert(name.to_string(), parsed);
                }
                None => {
                    return Err(ConfigError::new(section, None, "must be a table"));
                }
            }
        }
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                ConfigError::new(&key, None, e.into_inner().message().to_string())
            })?;
        config.validate()?;
        let calendar = config.office.calendar()?;
        config.texts = config.texts.for_office(&calendar);
        Ok(config)
    }

    /// Check values that the types alone do not: each section checks its own keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.office.calendar()?;
        self.texts.validate()?;
        self.database.validate()?;
        self.console.validate()?;
        server::validate_matcher(&self.matcher)?;
        self.dispatcher.validate()?;
        self.telegram.validate()?;
        self.x.validate()?;
        self.email.validate()?;
        self.webchat.validate()?;
        Ok(())
    }
}

/// The environment variable that overrides `key` (`section.name`).
pub fn env_name(key: &str) -> String {
    format!("SPORTELLO_{}", key.to_uppercase().replacen('.', "__", 1))
}

/// Turn an environment string into a TOML value of the type the key's default has.
fn typed_value(
    key: &str,
    value: &str,
    default: Option<&toml::Value>,
) -> Result<toml::Value, ConfigError> {
    let bad = |what: &str| {
        let shown = if SECRET_KEYS.contains(&key) {
            None
        } else {
            Some(value.to_string())
        };
        ConfigError::new(
            key,
            shown,
            format!("must be {what} (from {})", env_name(key)),
        )
    };
    Ok(match default {
        Some(toml::Value::Boolean(_)) => match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
            "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(value.trim().parse().map_err(|_| bad("an integer"))?)
        }
        Some(toml::Value::Float(_)) => {
            toml::Value::Float(value.trim().parse().map_err(|_| bad("a number"))?)
        }
        Some(toml::Value::Array(_)) => {
            let doc: toml::Table =
                toml::from_str(&format!("v = {value}")).map_err(|_| bad("a TOML array"))?;
            doc.get("v").cloned().ok_or_else(|| bad("a TOML array"))?
        }
        _ => toml::Value::String(value.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        Config::from_table(
            table,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn email_in_clear_is_refused_beyond_loopback_and_idle_stays_under_29_minutes() {
        let on = |extra: &str| {
            format!(
                "[email]\nenabled = true\nusername = \"u\"\naddress = \"urp@comune.test\"\n{extra}"
            )
        };
        let pw = [("SPORTELLO_EMAIL__PASSWORD", "p")];
        assert!(load(&on(""), &pw).is_ok());
        assert!(load(&on("imap_tls = \"none\"\nimap_host = \"127.0.0.1\""), &pw).is_ok());
        let e = load(
            &on("imap_tls = \"none\"\nimap_host = \"imap.example.org\""),
            &pw,
        )
        .unwrap_err();
        assert_eq!(e.key, "email.imap_tls");
        let e = load(&on("smtp_tls = \"ssl\""), &pw).unwrap_err();
        assert_eq!(e.key, "email.smtp_tls");
        let e = load(&on("idle_secs = 1800"), &pw).unwrap_err();
        assert_eq!(e.key, "email.idle_secs");
        let e = load(&on("smtp_password = \"x\""), &pw).unwrap_err();
        assert_eq!(
            e.key, "email.smtp_password",
            "a secret only from the environment"
        );
    }

    #[test]
    fn trusted_proxies_are_checked_at_load_and_name_the_key() {
        let c = load("", &[]).unwrap();
        assert!(
            c.console.trusted_proxies.is_empty(),
            "none trusted by default"
        );
        let c = load(
            "[console]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\", \"192.168.1.7/32\"]",
            &[],
        )
        .unwrap();
        let p = c.console.proxies().unwrap();
        assert!(p[0].contains("10.200.3.4".parse().unwrap()));
        assert!(!p[0].contains("11.0.0.1".parse().unwrap()));
        assert!(p[1].contains("::1".parse().unwrap()));
        assert!(p[2].contains("::ffff:192.168.1.7".parse().unwrap()));
        assert!(!p[2].contains("192.168.1.8".parse().unwrap()));
        let c = load(
            "",
            &[("SPORTELLO_CONSOLE__TRUSTED_PROXIES", "[\"127.0.0.1/32\"]")],
        )
        .unwrap();
        assert_eq!(c.console.trusted_proxies, ["127.0.0.1/32"]);
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0/8", "::1/129"] {
            let e = load(&format!("[console]\ntrusted_proxies = [\"{bad}\"]"), &[]).unwrap_err();
            assert_eq!(e.key, "console.trusted_proxies", "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.database.url, "sqlite://data/sportello.db");
        assert_eq!(c.console.bind, "127.0.0.1:8080");
        assert_eq!(c.sheets.path, PathBuf::from("config/sheets"));
    }

    #[test]
    fn environment_overrides_the_file_with_typed_values() {
        let c = load(
            "[database]\nurl = \"sqlite://a.db\"\n",
            &[
                ("SPORTELLO_DATABASE__URL", "postgres://x@h/db"),
                ("SPORTELLO_DISPATCHER__MAX_ATTEMPTS", "3"),
                ("SPORTELLO_MATCHER__ANSWER_THRESHOLD", "0.9"),
                ("SPORTELLO_WEBCHAT__ENABLED", "false"),
                ("SPORTELLO_LOG_FORMAT", "json"),
            ],
        )
        .unwrap();
        assert_eq!(c.database.url, "postgres://x@h/db");
        assert_eq!(c.dispatcher.max_attempts, 3);
        assert!((c.matcher.answer_threshold - 0.9).abs() < 1e-6);
        assert!(!c.webchat.enabled);
    }

    #[test]
    fn a_partial_texts_section_keeps_the_other_default_texts() {
        let c = load("[texts]\nhours = \"sempre\"\n", &[]).unwrap();
        assert_eq!(c.texts.hours, "sempre");
        assert_eq!(c.texts.welcome, Texts::default().welcome);
    }

    #[test]
    fn the_hours_text_is_written_from_the_office_section() {
        let c = load(
            "[office]\nworking_days = [1, 2, 3, 4]\nopening = \"08:30\"\nclosing = \"12:30\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.texts.hours,
            "dal lunedì al giovedì, dalle 8:30 alle 12:30"
        );
        let c = load("[texts]\nhours = \"su appuntamento\"\n", &[]).unwrap();
        assert_eq!(c.texts.hours, "su appuntamento", "a plain text is kept");
        let e = load("[texts]\nweekdays = [\"lunedì\"]\n", &[]).unwrap_err();
        assert_eq!(e.key, "texts.weekdays");
    }

    #[test]
    fn resume_links_last_thirty_days_unless_configured_within_a_year() {
        assert_eq!(load("", &[]).unwrap().webchat.resume_days, 30);
        let c = load("", &[("SPORTELLO_WEBCHAT__RESUME_DAYS", "7")]).unwrap();
        assert_eq!(c.webchat.resume_days, 7);
        for bad in ["0", "366"] {
            let e = load(&format!("[webchat]\nresume_days = {bad}\n"), &[]).unwrap_err();
            assert_eq!(e.key, "webchat.resume_days");
            assert!(e.to_string().contains("webchat.resume_days"), "{e}");
        }
    }

    #[test]
    fn an_unknown_text_key_is_named() {
        let e = load("[texts]\nhello = \"ciao\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("hello"), "{e}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let e = load("[database]\nurl = \"sqlite://a.db\"\npool = 3\n", &[]).unwrap_err();
        assert!(e.to_string().contains("pool"), "{e}");
    }

    #[test]
    fn a_wrongly_typed_value_names_its_key() {
        let e = load("[dispatcher]\nmax_attempts = \"many\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "dispatcher.max_attempts");
    }

    #[test]
    fn a_bad_environment_value_names_the_key_and_value() {
        let e = load("", &[("SPORTELLO_DISPATCHER__BATCH", "lots")]).unwrap_err();
        assert_eq!(e.key, "dispatcher.batch");
        assert_eq!(e.value.as_deref(), Some("lots"));
    }

    #[test]
    fn an_invalid_database_url_is_rejected_with_key_and_value() {
        let e = load("[database]\nurl = \"mysql://x\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "database.url");
        assert!(e.to_string().contains("mysql://x"));
    }

    #[test]
    fn a_secret_in_the_file_is_refused() {
        let e = load("[telegram]\ntoken = \"123:abc\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "telegram.token");
        assert!(!e.to_string().contains("123:abc"));
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_not_printed() {
        let c = load(
            "[telegram]\nenabled = true\n",
            &[("SPORTELLO_TELEGRAM__TOKEN", "123:abc")],
        )
        .unwrap();
        assert_eq!(c.telegram.token.as_ref().unwrap().expose(), "123:abc");
        assert!(!format!("{c:?}").contains("123:abc"));
    }

    #[test]
    fn an_enabled_channel_without_its_token_names_the_variable() {
        let e = load("[telegram]\nenabled = true\n", &[]).unwrap_err();
        assert!(e.to_string().contains("SPORTELLO_TELEGRAM__TOKEN"));
    }

    #[test]
    fn thresholds_out_of_order_are_rejected() {
        let e = load(
            "[matcher]\nanswer_threshold = 0.3\nclarify_threshold = 0.5\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "matcher.clarify_threshold");
    }

    #[test]
    fn the_shipped_configuration_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sportello.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        Config::from_table(table, Vec::new()).unwrap();
    }
}
