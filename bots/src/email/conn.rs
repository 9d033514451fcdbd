//! Connections to the mail servers: TCP, implicit TLS or STARTTLS (rustls with ring), and the
//! IMAP login.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::{Client, Session};
use sportello_core::config::EmailConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};

/// A connection in clear (loopback only) or over TLS.
#[derive(Debug)]
pub enum MailStream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The TLS client settings: the public web roots, plus `email.ca_file` when set.
pub fn tls_config(config: &EmailConfig) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if !config.ca_file.is_empty() {
        for cert in extra_roots(&config.ca_file)? {
            roots
                .add(cert)
                .map_err(|e| format!("email.ca_file {:?}: {e}", config.ca_file))?;
        }
    }
    let tls = ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// The certificates of a PEM file.
pub fn extra_roots(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("email.ca_file {path:?}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("email.ca_file {path:?}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("email.ca_file {path:?}: no certificate in it"));
    }
    Ok(certs)
}

async fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    tls: &Arc<ClientConfig>,
) -> Result<MailStream, String> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host:?}: {e}"))?;
    let stream = TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))?;
    Ok(MailStream::Tls(Box::new(stream)))
}

/// A logged-in IMAP session. Every step is bounded by `email.timeout_secs`.
pub async fn imap_login(
    config: &EmailConfig,
    tls: &Arc<ClientConfig>,
) -> Result<Session<MailStream>, String> {
    let limit = Duration::from_secs(config.timeout_secs);
    tokio::time::timeout(limit, login(config, tls))
        .await
        .map_err(|_| format!("IMAP login timed out after {}s", config.timeout_secs))?
}

async fn login(
    config: &EmailConfig,
    tls: &Arc<ClientConfig>,
) -> Result<Session<MailStream>, String> {
    let host = config.imap_host.as_str();
    let tcp = TcpStream::connect((host, config.imap_port))
        .await
        .map_err(|e| format!("IMAP {host}:{}: {e}", config.imap_port))?;
    let _ = tcp.set_nodelay(true);
    let stream = match config.imap_tls.as_str() {
        "tls" => tls_wrap(tcp, host, tls).await?,
        "starttls" => {
            let mut client = Client::new(MailStream::Plain(tcp));
            greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| format!("IMAP STARTTLS: {e}"))?;
            let MailStream::Plain(tcp) = client.into_inner() else {
                return Err("IMAP STARTTLS: unexpected stream".into());
            };
            tls_wrap(tcp, host, tls).await?
        }
        _ => MailStream::Plain(tcp),
    };
    let mut client = Client::new(stream);
    if config.imap_tls != "starttls" {
        greeting(&mut client).await?;
    }
    let password = config
        .password
        .as_ref()
        .map(|p| p.expose().to_string())
        .unwrap_or_default();
    client
        .login(&config.username, password)
        .await
        .map_err(|(e, _)| format!("IMAP login as {}: {e}", config.username))
}

async fn greeting(client: &mut Client<MailStream>) -> Result<(), String> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("IMAP server closed the connection before its greeting".into()),
        Err(e) => Err(format!("IMAP greeting: {e}")),
    }
}
