//! Sending over SMTP with lettre: implicit TLS, STARTTLS or (loopback only) clear text,
//! authenticating when the server offers it, and SMTP replies turned into [`SendError`]s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sportello_core::channel::SendError;
use sportello_core::config::EmailConfig;

/// Two transports, with and without credentials: a server that offers no AUTH (a relay on
/// the local network) is used without them.
pub struct Smtp {
    with_auth: AsyncSmtpTransport<Tokio1Executor>,
    without_auth: AsyncSmtpTransport<Tokio1Executor>,
    no_auth_offered: AtomicBool,
    timeout: Duration,
}

impl Smtp {
    /// The transport for `config`.
    pub fn new(config: &EmailConfig) -> Result<Self, String> {
        let host = config.smtp_host.as_str();
        let tls = match config.smtp_tls.as_str() {
            "none" => Tls::None,
            mode => {
                let mut params = TlsParameters::builder(host.to_string())
                    .certificate_store(CertificateStore::WebpkiRoots);
                if !config.ca_file.is_empty() {
                    let pem = std::fs::read(&config.ca_file)
                        .map_err(|e| format!("email.ca_file {:?}: {e}", config.ca_file))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| format!("email.ca_file {:?}: {e}", config.ca_file))?;
                    params = params.add_root_certificate(cert);
                }
                let params = params
                    .build_rustls()
                    .map_err(|e| format!("email.smtp_tls: {e}"))?;
                if mode == "tls" {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let timeout = Duration::from_secs(config.timeout_secs);
        let base = || {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(config.smtp_port)
                .tls(tls.clone())
                .timeout(Some(timeout))
        };
        let username = if config.smtp_username.is_empty() {
            &config.username
        } else {
            &config.smtp_username
        };
        let password = config
            .smtp_password
            .as_ref()
            .or(config.password.as_ref())
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        Ok(Self {
            with_auth: base()
                .credentials(Credentials::new(username.clone(), password))
                .authentication(vec![Mechanism::Plain, Mechanism::Login])
                .build(),
            without_auth: base().build(),
            no_auth_offered: AtomicBool::new(false),
            timeout,
        })
    }

    /// Send one message.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let result = if self.no_auth_offered.load(Ordering::Relaxed) {
            self.send_with(&self.without_auth, message).await
        } else {
            match self.send_with(&self.with_auth, message).await {
                Err(Failure::NoAuthOffered) => {
                    tracing::info!("the SMTP server offers no authentication: sending without");
                    self.no_auth_offered.store(true, Ordering::Relaxed);
                    self.send_with(&self.without_auth, message).await
                }
                other => other,
            }
        };
        result.map_err(|f| match f {
            Failure::NoAuthOffered => {
                SendError::Transient("the SMTP server offers no authentication".into())
            }
            Failure::Send(e) => e,
        })
    }

    async fn send_with(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        message: &Message,
    ) -> Result<(), Failure> {
        // lettre's own timeout covers each exchange; this one covers the whole message.
        let sent = tokio::time::timeout(self.timeout * 3, transport.send(message.clone())).await;
        match sent {
            Err(_) => Err(Failure::Send(SendError::Transient("SMTP timed out".into()))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let text = e.to_string();
                if e.is_client() && text.contains("authentication mechanism") {
                    return Err(Failure::NoAuthOffered);
                }
                Err(Failure::Send(classify(&e, text)))
            }
        }
    }
}

enum Failure {
    NoAuthOffered,
    Send(SendError),
}

/// 5xx replies are permanent, with the server's reply for operators; 4xx, connection
/// failures and timeouts are transient.
fn classify(e: &lettre::transport::smtp::Error, text: String) -> SendError {
    if e.is_permanent() {
        SendError::Permanent {
            reason: format!("SMTP: {text}"),
            unreachable: false,
        }
    } else {
        SendError::Transient(format!("SMTP: {text}"))
    }
}
