//! Configuration: `config/sportello.toml`, overridden by `SPORTELLO_<SECTION>__<KEY>`
//! environment variables; secrets only from the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sportello_faq::MatcherParams;

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
    "x.bearer_token",
    "x.user_token",
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
    fn new(key: &str, value: Option<String>, message: impl Into<String>) -> Self {
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
}

/// `[database]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created when missing) or `postgres://…`.
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Seconds to wait for a connection or a lock before giving up.
    pub timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/sportello.db".into(),
            max_connections: 8,
            timeout_secs: 5,
        }
    }
}

/// `[console]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The console's public address (`https://urp.comune.example.it`): email answers carry
    /// 👍/👎 links under it; empty: no links.
    pub public_url: String,
    /// Address of the console and API.
    pub bind: String,
    /// Waiting time, in minutes, past which the queue highlights a conversation.
    pub queue_target_minutes: u64,
    /// Mark the session cookie `Secure` on every response (set it when the console is served
    /// over HTTPS by a proxy that does not send `X-Forwarded-Proto`).
    pub secure_cookies: bool,
    /// Minutes of inactivity after which a console session ends.
    pub session_idle_minutes: u64,
    /// Hours after which a console session ends however active it is.
    pub session_max_hours: u64,
    /// How often live views look for changes made by other processes, in milliseconds.
    pub live_poll_ms: u64,
    /// Ready-made replies operators can insert into the reply box.
    pub canned: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            bind: "127.0.0.1:8080".into(),
            queue_target_minutes: 240,
            secure_cookies: false,
            session_idle_minutes: 120,
            session_max_hours: 12,
            live_poll_ms: 1_000,
            canned: Vec::new(),
        }
    }
}

/// `[sheets]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SheetsConfig {
    /// Folder of TOML sheets (or a CSV file) imported when the store has no sheets.
    pub path: PathBuf,
    /// The offices file.
    pub offices: PathBuf,
    /// The synonyms file.
    pub synonyms: PathBuf,
}

impl Default for SheetsConfig {
    fn default() -> Self {
        Self {
            path: "config/sheets".into(),
            offices: "config/offices.toml".into(),
            synonyms: "config/synonyms.toml".into(),
        }
    }
}

/// `[dispatcher]`: delivery of the outbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatcherConfig {
    /// Attempts before a message is marked failed.
    pub max_attempts: i64,
    /// First retry delay, in milliseconds; doubled at each attempt.
    pub base_delay_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub max_delay_ms: u64,
    /// How often to look for due messages when nothing wakes the dispatcher, in milliseconds.
    pub poll_ms: u64,
    /// Rows claimed at once.
    pub batch: i64,
    /// How long a claimed row stays reserved before another worker may take it, in seconds.
    pub lease_secs: i64,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_ms: 1_000,
            max_delay_ms: 300_000,
            poll_ms: 1_000,
            batch: 32,
            lease_secs: 60,
        }
    }
}

/// `[texts]`: every sentence the bot says. `{ref}` is the conversation's reference number,
/// `{title}` a sheet's title, `{office}` an office's name, `{hours}` the office hours.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Texts {
    /// Reply to a greeting.
    pub greeting: String,
    /// Reply to thanks.
    pub thanks: String,
    /// Reply to a goodbye.
    pub goodbye: String,
    /// Reply to abuse (the conversation also goes to an operator).
    pub abuse: String,
    /// Reply to an empty message or one with nothing to match.
    pub empty: String,
    /// The citizen asked for a person.
    pub person_requested: String,
    /// No sheet fits: an operator will answer.
    pub no_match: String,
    /// The matched sheet must be handled by an operator.
    pub sheet_requires_operator: String,
    /// Before the choices of a clarification.
    pub clarify: String,
    /// The button that asks for a person.
    pub operator_button: String,
    /// Before the responsible office in an answer.
    pub office_label: String,
    /// The one acknowledgement for messages written while waiting for an operator.
    pub queued_ack: String,
    /// When operators answer.
    pub hours: String,
    /// Welcome for a new chat (`/start`); `{hours}` and `{privacy}` are replaced.
    pub welcome: String,
    /// What the bot can do (`/help`).
    pub help: String,
    /// Address of the privacy notice, linked from the welcome.
    pub privacy_url: String,
    /// Label of the button saying an answer helped.
    pub useful_button: String,
    /// Label of the button saying an answer did not help.
    pub not_useful_button: String,
    /// Thanks for a 👍 (shown briefly, e.g. as a Telegram notification).
    pub feedback_thanks: String,
    /// After a 👎: before the other sheets and the operator button.
    pub feedback_negative: String,
    /// After an operator closed the conversation: asks for a rating.
    pub rating_request: String,
    /// Thanks for a rating.
    pub rating_thanks: String,
    /// A file or photo was received and goes to an operator.
    pub attachment_received: String,
    /// Something the bot cannot read (voice, sticker, location).
    pub unsupported: String,
    /// A button that is no longer valid was pressed.
    pub stale_button: String,
}

impl Default for Texts {
    fn default() -> Self {
        Self {
            greeting: "Buongiorno! Sono l'assistente dell'URP. Scrivi la tua domanda e ti rispondo, oppure scrivi \"operatore\" per parlare con una persona.".into(),
            thanks: "Grazie a te! Se hai altre domande, scrivi pure.".into(),
            goodbye: "Arrivederci e buona giornata!".into(),
            abuse: "Ti chiediamo di usare un linguaggio rispettoso. Passo la conversazione a un operatore (rif. {ref}).".into(),
            empty: "Non ho capito la domanda. Puoi scriverla con qualche parola in più?".into(),
            person_requested: "Va bene, passo la conversazione a un operatore (rif. {ref}). Ti risponderemo {hours}.".into(),
            no_match: "Non ho trovato una risposta sicura. Ho passato la domanda a un operatore (rif. {ref}), che ti risponderà {hours}.".into(),
            sheet_requires_operator: "Per \"{title}\" serve un operatore: ho passato la richiesta (rif. {ref}). Ti risponderemo {hours}.".into(),
            clarify: "Forse cerchi una di queste informazioni. Scegli quella giusta:".into(),
            operator_button: "Parla con un operatore".into(),
            office_label: "Ufficio competente".into(),
            queued_ack: "Abbiamo ricevuto il tuo messaggio: un operatore ti risponderà qui appena possibile (rif. {ref}).".into(),
            hours: "dal lunedì al venerdì, dalle 9 alle 17".into(),
            welcome: "Benvenuto! Sono l'assistente dell'URP. Scrivi la tua domanda con parole tue: ti rispondo con le informazioni delle nostre schede, oppure ti metto in contatto con un operatore, che risponde {hours}. Scrivi /operatore per parlare con una persona, /help per l'aiuto. Informativa privacy: {privacy}".into(),
            help: "Scrivi la tua domanda in una frase, ad esempio \"come richiedo la Pink Card?\". Se la risposta non ti basta premi 👎 oppure scrivi /operatore: un operatore ti risponderà qui.".into(),
            privacy_url: "https://www.cittametropolitana.mi.it/privacy".into(),
            useful_button: "👍 Utile".into(),
            not_useful_button: "👎 Non utile".into(),
            feedback_thanks: "Grazie per il riscontro!".into(),
            feedback_negative: "Mi dispiace. Forse cercavi una di queste informazioni, oppure puoi parlare con un operatore:".into(),
            rating_request: "La conversazione (rif. {ref}) è chiusa. Quanto sei soddisfatto del servizio? Scegli da 1 a 5.".into(),
            rating_thanks: "Grazie per la valutazione!".into(),
            attachment_received: "Ho ricevuto il file e l'ho passato a un operatore (rif. {ref}), che ti risponderà {hours}.".into(),
            unsupported: "Posso leggere solo messaggi scritti. Scrivi la tua domanda con un messaggio di testo, per favore.".into(),
            stale_button: "Questo pulsante non è più valido. Scrivi di nuovo la tua domanda, per favore.".into(),
        }
    }
}

/// Telegram polling or webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    /// Long polling with getUpdates.
    #[default]
    Polling,
    /// Telegram calls the console's webhook route.
    Webhook,
}

/// `[telegram]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// Bot API server.
    pub api_url: String,
    /// `polling` or `webhook`.
    pub mode: TelegramMode,
    /// Bot token: only from `SPORTELLO_TELEGRAM__TOKEN`.
    #[serde(skip_serializing)]
    pub token: Option<Secret>,
    /// Webhook secret: only from `SPORTELLO_TELEGRAM__WEBHOOK_SECRET`.
    #[serde(skip_serializing)]
    pub webhook_secret: Option<Secret>,
    /// Public HTTPS address of the console's `/telegram/webhook` route, registered with
    /// `setWebhook` in webhook mode.
    pub webhook_url: String,
    /// Long-polling timeout of `getUpdates`, in seconds.
    pub poll_timeout_secs: u64,
    /// Messages per second to all chats together (Telegram allows about 30).
    pub rate_global: u32,
    /// Messages per second to one chat (Telegram allows about 1, with short bursts).
    pub rate_per_chat: u32,
    /// Answer in group chats too; by default only private chats are served.
    pub groups: bool,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            api_url: "https://api.telegram.org".into(),
            mode: TelegramMode::Polling,
            token: None,
            webhook_secret: None,
            webhook_url: String::new(),
            poll_timeout_secs: 25,
            rate_global: 30,
            rate_per_chat: 1,
            groups: false,
        }
    }
}

/// `[x]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct XConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// X API server.
    pub api_url: String,
    /// The office account's user id, whose mentions are read.
    pub user_id: String,
    /// App bearer token (reads mentions): only from `SPORTELLO_X__BEARER_TOKEN`.
    #[serde(skip_serializing)]
    pub bearer_token: Option<Secret>,
    /// User-context token (posts replies): only from `SPORTELLO_X__USER_TOKEN`.
    #[serde(skip_serializing)]
    pub user_token: Option<Secret>,
}

impl Default for XConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            api_url: "https://api.x.com".into(),
            user_id: String::new(),
            bearer_token: None,
            user_token: None,
        }
    }
}

/// `[email]`: one IMAP mailbox read for citizens' mail, answered through SMTP.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// IMAP server.
    pub imap_host: String,
    /// IMAP port.
    pub imap_port: u16,
    /// `tls` (implicit, 993), `starttls` (143) or `none` (loopback hosts only).
    pub imap_tls: String,
    /// SMTP server.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `tls` (implicit, 465), `starttls` (587) or `none` (loopback hosts only).
    pub smtp_tls: String,
    /// Login name for IMAP (and SMTP unless `smtp_username` is set).
    pub username: String,
    /// Password: only from `SPORTELLO_EMAIL__PASSWORD`.
    #[serde(skip_serializing)]
    pub password: Option<Secret>,
    /// SMTP login name when it differs from `username`; empty: `username`.
    pub smtp_username: String,
    /// SMTP password: only from `SPORTELLO_EMAIL__SMTP_PASSWORD`; unset: `password`.
    #[serde(skip_serializing)]
    pub smtp_password: Option<Secret>,
    /// The office's address, used as sender.
    pub address: String,
    /// The sender's display name.
    pub from_name: String,
    /// The mailbox read, usually `INBOX`.
    pub mailbox: String,
    /// Seconds between polls when the server lacks IDLE.
    pub poll_secs: u64,
    /// Seconds after which IDLE is re-issued (below the 29 minutes RFC 2177 allows).
    pub idle_secs: u64,
    /// Messages fetched per IMAP round trip.
    pub batch_size: u32,
    /// Timeout in seconds of one IMAP or SMTP exchange.
    pub timeout_secs: u64,
    /// Set `\Seen` on messages once stored.
    pub mark_seen: bool,
    /// Move stored messages to this mailbox; empty: leave them where they are.
    pub processed_mailbox: String,
    /// Attachment bytes stored per message; larger attachments are recorded by name, type
    /// and size only.
    pub attachment_limit: u64,
    /// Automatic replies to one sender in 24 hours; beyond, mail goes to operators silently.
    pub auto_replies_per_sender_per_day: u32,
    /// Signature appended to every email reply.
    pub signature: String,
    /// PEM file of an extra certificate authority to trust (a private mail server); empty:
    /// the public web roots only.
    pub ca_file: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            imap_host: "127.0.0.1".into(),
            imap_port: 993,
            imap_tls: "tls".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 465,
            smtp_tls: "tls".into(),
            username: String::new(),
            password: None,
            smtp_username: String::new(),
            smtp_password: None,
            address: String::new(),
            from_name: "URP".into(),
            mailbox: "INBOX".into(),
            poll_secs: 60,
            idle_secs: 25 * 60,
            batch_size: 100,
            timeout_secs: 60,
            mark_seen: true,
            processed_mailbox: String::new(),
            attachment_limit: 10 * 1024 * 1024,
            auto_replies_per_sender_per_day: 5,
            signature: String::new(),
            ca_file: String::new(),
        }
    }
}

impl EmailConfig {
    /// Check the TLS modes, the IDLE interval and the sender address.
    fn check(&self) -> Result<(), ConfigError> {
        for (key, mode, host) in [
            ("email.imap_tls", &self.imap_tls, &self.imap_host),
            ("email.smtp_tls", &self.smtp_tls, &self.smtp_host),
        ] {
            match mode.as_str() {
                "tls" | "starttls" => {}
                "none" if is_loopback(host) => {}
                "none" => {
                    return Err(ConfigError::new(
                        key,
                        Some(mode.clone()),
                        format!("`none` is allowed only for a loopback host, not {host:?}"),
                    ));
                }
                _ => {
                    return Err(ConfigError::new(
                        key,
                        Some(mode.clone()),
                        "must be `tls`, `starttls` or `none`",
                    ));
                }
            }
        }
        if self.idle_secs == 0 || self.idle_secs >= 29 * 60 {
            return Err(ConfigError::new(
                "email.idle_secs",
                Some(self.idle_secs.to_string()),
                "must be between 1 and 1739 (IDLE must be re-issued before 29 minutes)",
            ));
        }
        if self.poll_secs == 0 || self.batch_size == 0 || self.timeout_secs == 0 {
            return Err(ConfigError::new(
                "email.poll_secs",
                None,
                "poll_secs, batch_size and timeout_secs must be positive",
            ));
        }
        if !self.address.contains('@') || self.address.contains(['\r', '\n', '<', '>', ' ']) {
            return Err(ConfigError::new(
                "email.address",
                Some(self.address.clone()),
                "must be a plain address such as urp@comune.example.it",
            ));
        }
        Ok(())
    }
}

/// Whether `host` names this machine (`localhost`, 127.0.0.0/8, ::1).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `[webchat]`: the citizen web chat under `/chat`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebchatConfig {
    /// Whether the citizen web chat is served under `/chat`.
    pub enabled: bool,
    /// The chat page's heading.
    pub title: String,
    /// The sentence under the heading.
    pub intro: String,
    /// Messages (and button presses) one browser session may send per minute.
    pub rate_per_session: u32,
    /// Messages one IP address may send per minute, all its sessions together.
    pub rate_per_ip: u32,
    /// Longest message a citizen may write, in characters.
    pub text_limit: usize,
    /// Who may show the chat in a frame: the CSP `frame-ancestors` value, e.g.
    /// `'self' https://www.comune.example.it` for the embeddable widget.
    pub frame_ancestors: String,
    /// Shown when a session or address writes too fast.
    pub rate_limited: String,
    /// Shown when a message is longer than `text_limit`.
    pub too_long: String,
    /// Shown when the page is stale (its security token no longer matches the session).
    pub expired: String,
}

impl Default for WebchatConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            title: "Scrivi all'URP".into(),
            intro: "Fai la tua domanda: l'assistente risponde con le informazioni delle nostre schede, e un operatore può prendere in carico la conversazione.".into(),
            rate_per_session: 10,
            rate_per_ip: 60,
            text_limit: 2000,
            frame_ancestors: "'self'".into(),
            rate_limited: "Stai scrivendo troppo in fretta. Attendi un minuto e riprova, per favore.".into(),
            too_long: "Il messaggio è troppo lungo. Dividilo in più messaggi, per favore.".into(),
            expired: "La pagina è scaduta. Ricaricala e riprova, per favore.".into(),
        }
    }
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
        let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
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
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                ConfigError::new(&key, None, e.into_inner().message().to_string())
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Check values that the types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err((key, message)) = self.office.calendar() {
            return Err(ConfigError::new(&key, None, message));
        }
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "database.url",
                Some(url.clone()),
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::new(
                "database.max_connections",
                Some("0".into()),
                "must be at least 1",
            ));
        }
        if self.console.bind.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::new(
                "console.bind",
                Some(self.console.bind.clone()),
                "must be an address and port, e.g. 127.0.0.1:8080",
            ));
        }
        let m = &self.matcher;
        for (key, v) in [
            ("matcher.answer_threshold", m.answer_threshold),
            ("matcher.clarify_threshold", m.clarify_threshold),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(ConfigError::new(
                    key,
                    Some(v.to_string()),
                    "must be between 0 and 1",
                ));
            }
        }
        if m.clarify_threshold > m.answer_threshold {
            return Err(ConfigError::new(
                "matcher.clarify_threshold",
                Some(m.clarify_threshold.to_string()),
                "must not be above matcher.answer_threshold",
            ));
        }
        if !(1..=3).contains(&m.max_choices) {
            return Err(ConfigError::new(
                "matcher.max_choices",
                Some(m.max_choices.to_string()),
                "must be 1, 2 or 3",
            ));
        }
        let d = &self.dispatcher;
        if d.max_attempts < 1 {
            return Err(ConfigError::new(
                "dispatcher.max_attempts",
                Some(d.max_attempts.to_string()),
                "must be at least 1",
            ));
        }
        if d.batch < 1 {
            return Err(ConfigError::new(
                "dispatcher.batch",
                Some(d.batch.to_string()),
                "must be at least 1",
            ));
        }
        if d.base_delay_ms > d.max_delay_ms {
            return Err(ConfigError::new(
                "dispatcher.base_delay_ms",
                Some(d.base_delay_ms.to_string()),
                "must not exceed dispatcher.max_delay_ms",
            ));
        }
        for (key, enabled, api) in [
            (
                "telegram.api_url",
                self.telegram.enabled,
                &self.telegram.api_url,
            ),
            ("x.api_url", self.x.enabled, &self.x.api_url),
        ] {
            if enabled && !(api.starts_with("http://") || api.starts_with("https://")) {
                return Err(ConfigError::new(
                    key,
                    Some(api.clone()),
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if self.telegram.enabled
            && self
                .telegram
                .token
                .as_ref()
                .is_none_or(|t| t.expose().is_empty())
        {
            return Err(ConfigError::new(
                "telegram.token",
                None,
                "the channel is enabled: set SPORTELLO_TELEGRAM__TOKEN",
            ));
        }
        if self.telegram.enabled && self.telegram.mode == TelegramMode::Webhook {
            if !self.telegram.webhook_url.starts_with("https://")
                && !self.telegram.webhook_url.starts_with("http://")
            {
                return Err(ConfigError::new(
                    "telegram.webhook_url",
                    Some(self.telegram.webhook_url.clone()),
                    "webhook mode needs the public address of /telegram/webhook",
                ));
            }
            if self
                .telegram
                .webhook_secret
                .as_ref()
                .is_none_or(|t| t.expose().is_empty())
            {
                return Err(ConfigError::new(
                    "telegram.webhook_secret",
                    None,
                    "webhook mode needs SPORTELLO_TELEGRAM__WEBHOOK_SECRET",
                ));
            }
        }
        for (key, v) in [
            ("telegram.rate_global", self.telegram.rate_global),
            ("telegram.rate_per_chat", self.telegram.rate_per_chat),
        ] {
            if v == 0 {
                return Err(ConfigError::new(
                    key,
                    Some("0".into()),
                    "must be at least 1",
                ));
            }
        }
        if self.x.enabled && self.x.user_id.is_empty() {
            return Err(ConfigError::new(
                "x.user_id",
                None,
                "the channel is enabled: set the office account's user id",
            ));
        }
        if self.x.enabled && self.x.bearer_token.is_none() {
            return Err(ConfigError::new(
                "x.bearer_token",
                None,
                "the channel is enabled: set SPORTELLO_X__BEARER_TOKEN",
            ));
        }
        if self.email.enabled {
            for (key, v) in [
                ("email.imap_host", &self.email.imap_host),
                ("email.smtp_host", &self.email.smtp_host),
                ("email.username", &self.email.username),
                ("email.address", &self.email.address),
            ] {
                if v.is_empty() {
                    return Err(ConfigError::new(
                        key,
                        None,
                        "the channel is enabled: this key is required",
                    ));
                }
            }
            if self.email.password.is_none() {
                return Err(ConfigError::new(
                    "email.password",
                    None,
                    "the channel is enabled: set SPORTELLO_EMAIL__PASSWORD",
                ));
            }
            self.email.check()?;
        }
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
