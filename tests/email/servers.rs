//! Private Dovecot (IMAP and LMTP) and Postfix instances on 127.0.0.1 for one test: random
//! ports, a temporary mail folder, passwd-file users, a certificate authority and a server
//! certificate made at start with the openssl command. Citizens' mail enters through
//! Postfix, which delivers by LMTP to Dovecot; tests read mailboxes by IMAP.
//!
//! `scripts/mail-servers` installs the packages.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The office's address and IMAP login.
pub const OFFICE: &str = "urp@comune.test";
/// Every user's password.
pub const PASSWORD: &str = "mail-test-password";
/// Citizens with a mailbox: `c1@cittadini.test` … `cN@cittadini.test`, plus named ones.
pub const CITIZENS: usize = 2000;

/// A port for one of the mail daemons, which take a number rather than a bound socket.
///
/// Ports are handed out once per test process, from below the kernel's ephemeral range: the
/// ports the OS gives to `bind(…:0)` (Sportello's console) and to outgoing connections come
/// from that range, so they can never take a daemon's port between its choice and its bind,
/// and two tests of this process never get the same one. A port some other program holds is
/// skipped.
fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let ephemeral_low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768);
    let first = 10_000 + std::process::id() % 8_000;
    loop {
        let port = first + NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert!(
            port < ephemeral_low,
            "no port left below the ephemeral range"
        );
        if TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The running servers.
pub struct MailServers {
    pub dir: tempfile::TempDir,
    /// IMAP without TLS (tests read with it), IMAP over TLS (Sportello reads with it).
    pub imap_port: u16,
    pub imaps_port: u16,
    pub lmtp_port: u16,
    /// Postfix's SMTP, with STARTTLS.
    pub smtp_port: u16,
    dovecot: Option<Child>,
    postfix: Option<Child>,
}

impl MailServers {
    /// Configure and start both servers, and wait until they answer; without `idle`, Dovecot
    /// does not offer IDLE (as some servers do not).
    pub async fn start_with(idle: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sportello-mail-")
            .tempdir()
            .unwrap();
        let mut servers = Self {
            imap_port: free_port(),
            imaps_port: free_port(),
            lmtp_port: free_port(),
            smtp_port: free_port(),
            dir,
            dovecot: None,
            postfix: None,
        };
        servers.configure(idle);
        servers.start_dovecot().await;
        servers.start_postfix().await;
        servers
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The certificate authority's PEM, for `email.ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    fn configure(&self, idle: bool) {
        let d = self.dir.path();
        let t = d.display();
        // Daemons that drop privileges must reach the folder.
        run(Command::new("chmod").args(["755", &t.to_string()]));
        for sub in ["run", "state", "mail", "pf", "pfq", "pfd"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        run(Command::new("chown").args(["65534:65534", &format!("{t}/mail")]));
        run(Command::new("chown").args(["postfix", &format!("{t}/pfd")]));
        self.certificates();
        let mut users = format!("{OFFICE}:{{PLAIN}}{PASSWORD}::::::\n");
        for name in ["mario", "anna", "luca", "pec", "bruno"] {
            let _ = writeln!(users, "{name}@cittadini.test:{{PLAIN}}{PASSWORD}::::::");
        }
        for n in 1..=CITIZENS {
            let _ = writeln!(users, "c{n}@cittadini.test:{{PLAIN}}{PASSWORD}::::::");
        }
        std::fs::write(d.join("users"), users).unwrap();
        let capability = if idle {
            ""
        } else {
            "imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT UIDPLUS \
             MOVE NAMESPACE CHILDREN UNSELECT ESEARCH SEARCHRES\n"
        };
        std::fs::write(
            d.join("dovecot.conf"),
            format!(
                "{capability}base_dir = {t}/run\nstate_dir = {t}/state\ninstance_name = sportello-{port}\n\
                 log_path = {t}/dovecot.log\nprotocols = imap lmtp\nlisten = 127.0.0.1\n\
                 ssl = yes\nssl_cert = <{t}/cert.pem\nssl_key = <{t}/key.pem\n\
                 disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
                 mail_location = maildir:{t}/mail/%u\nfirst_valid_uid = 100\n\
                 default_internal_user = dovecot\ndefault_login_user = dovenull\n\
                 passdb {{\n driver = passwd-file\n args = scheme=PLAIN username_format=%u {t}/users\n}}\n\
                 userdb {{\n driver = passwd-file\n args = username_format=%u {t}/users\n \
                 default_fields = uid=65534 gid=65534 home={t}/mail/%u\n}}\n\
                 service imap-login {{\n inet_listener imap {{\n  address = 127.0.0.1\n  port = {imap}\n }}\n \
                 inet_listener imaps {{\n  address = 127.0.0.1\n  port = {imaps}\n  ssl = yes\n }}\n}}\n\
                 service lmtp {{\n inet_listener lmtp {{\n  address = 127.0.0.1\n  port = {lmtp}\n }}\n}}\n\
                 service stats {{\n unix_listener stats-reader {{\n  mode = 0666\n }}\n \
                 unix_listener stats-writer {{\n  mode = 0666\n }}\n}}\n",
                port = self.imap_port,
                imap = self.imap_port,
                imaps = self.imaps_port,
                lmtp = self.lmtp_port,
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("pf/main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {t}/pfq\ndata_directory = {t}/pfd\n\
                 mail_owner = postfix\nsetgid_group = postdrop\nmyhostname = mx.comune.test\n\
                 mydomain = comune.test\nmyorigin = comune.test\nmydestination =\n\
                 inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\nmynetworks = 127.0.0.0/8\n\
                 smtpd_relay_restrictions = permit_mynetworks, reject\n\
                 virtual_mailbox_domains = comune.test, cittadini.test\n\
                 virtual_transport = lmtp:inet:127.0.0.1:{lmtp}\nrelayhost =\n\
                 maillog_file_prefixes = {t}\nmaillog_file = {t}/postfix.log\n\
                 queue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n\
                 smtpd_banner = mx.comune.test ESMTP\nbiff = no\nalias_maps =\nalias_database =\n\
                 local_recipient_maps =\nmessage_size_limit = 0\nmailbox_size_limit = 0\n\
                 virtual_mailbox_limit = 0\nsmtpd_tls_cert_file = {t}/cert.pem\n\
                 smtpd_tls_key_file = {t}/key.pem\nsmtpd_tls_security_level = may\n\
                 shlib_directory = /usr/lib/postfix\ndaemon_directory = /usr/lib/postfix/sbin\n\
                 meta_directory = /etc/postfix\n",
                lmtp = self.lmtp_port,
            ),
        )
        .unwrap();
        let master = std::fs::read_to_string("/usr/share/postfix/master.cf.dist")
            .expect("Postfix is installed (scripts/mail-servers)");
        let master: String = master
            .lines()
            .map(|l| {
                if l.starts_with("smtp      inet") {
                    format!("127.0.0.1:{} inet n - n - - smtpd\n", self.smtp_port)
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(d.join("pf/master.cf"), master).unwrap();
        run(Command::new("postconf").args(["-c", &format!("{t}/pf"), "-F", "*/*/chroot = n"]));
    }

    fn certificates(&self) {
        let d = self.dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(Command::new("openssl")
            .current_dir(d)
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"])
            .args(["-subj", "/CN=Sportello test CA"]));
        run(Command::new("openssl")
            .current_dir(d)
            .arg("req")
            .args(ec)
            .args([
                "-keyout",
                "key.pem",
                "-out",
                "req.csr",
                "-subj",
                "/CN=localhost",
            ]));
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(Command::new("openssl").current_dir(d).args([
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]));
        run(Command::new("chmod").args(["644", &d.join("key.pem").display().to_string()]));
    }

    /// Start Dovecot (again, after [`stop_dovecot`]) and wait for its IMAP port.
    pub async fn start_dovecot(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("dovecot.out"))
            .unwrap();
        let child = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(self.path("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group: signals to one never reach the other.
            .process_group(0)
            .spawn()
            .expect("dovecot is installed (scripts/mail-servers)");
        self.dovecot = Some(child);
        wait_port(self.imap_port, "Dovecot", &self.path("dovecot.log")).await;
    }

    /// Stop Dovecot and wait until its ports are closed.
    pub fn stop_dovecot(&mut self) {
        if let Some(mut child) = self.dovecot.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.imap_port)).is_ok() {
            assert!(Instant::now() < deadline, "Dovecot did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    async fn start_postfix(&mut self) {
        let log = std::fs::File::create(self.path("postfix.out")).unwrap();
        let child = Command::new("postfix")
            .arg("-c")
            .arg(self.path("pf"))
            .arg("start-fg")
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("postfix is installed (scripts/mail-servers)");
        self.postfix = Some(child);
        wait_port(self.smtp_port, "Postfix", &self.path("postfix.log")).await;
    }

    /// Ask Postfix to retry its deferred mail now.
    pub fn flush_queue(&self) {
        let _ = Command::new("postqueue")
            .arg("-c")
            .arg(self.path("pf"))
            .arg("-f")
            .status();
    }

    /// Give the office's INBOX a new UIDVALIDITY (as after a server migration).
    pub fn change_uidvalidity(&self, value: u32) {
        run(Command::new("doveadm")
            .arg("-c")
            .arg(self.path("dovecot.conf"))
            .args(["mailbox", "update", "-u", OFFICE, "--uid-validity"])
            .arg(value.to_string())
            .arg("INBOX"));
    }

    /// Hand a raw message to Postfix, as a citizen's mail server would.
    pub async fn submit(&self, from: &str, to: &str, raw: &[u8]) {
        // Postfix may close a connection before its greeting while it starts or recycles
        // its smtpd processes on a loaded machine: connect again, a few times.
        let mut attempt = 0;
        let (mut read, mut write) = loop {
            let stream = TcpStream::connect(("127.0.0.1", self.smtp_port))
                .await
                .unwrap();
            let (read, write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut greeting = String::new();
            read.read_line(&mut greeting).await.unwrap_or_default();
            attempt += 1;
            if greeting.starts_with('2') {
                while greeting.as_bytes().get(3) == Some(&b'-') {
                    greeting.clear();
                    read.read_line(&mut greeting).await.unwrap();
                }
                break (read, write);
            }
            assert!(attempt < 10, "SMTP: no greeting, got {greeting:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        for (cmd, code) in [
            ("EHLO citizen.test".to_string(), "250"),
            (format!("MAIL FROM:<{from}>"), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_string(), "354"),
        ] {
            write
                .write_all(format!("{cmd}\r\n").as_bytes())
                .await
                .unwrap();
            expect(&mut read, code).await;
        }
        let mut data = Vec::with_capacity(raw.len() + 1024);
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        if !data.ends_with(b"\r\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        write.write_all(&data).await.unwrap();
        expect(&mut read, "250").await;
        write.write_all(b"QUIT\r\n").await.unwrap();
    }

    /// Every message in `user`'s INBOX, raw, in UID order.
    pub async fn mailbox(&self, user: &str) -> Vec<Vec<u8>> {
        self.folder(user, "INBOX")
            .await
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    }

    /// Every message in one of `user`'s mailboxes, raw, with whether it is `\Seen`.
    pub async fn folder(&self, user: &str, name: &str) -> Vec<(Vec<u8>, bool)> {
        let tcp = TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        let mut session = client.login(user, PASSWORD).await.map_err(|e| e.0).unwrap();
        session.select(name).await.unwrap();
        let fetched: Vec<_> = session
            .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let mut mails: Vec<(u32, Vec<u8>, bool)> = fetched
            .iter()
            .filter_map(|f| {
                let seen = f.flags().any(|flag| flag == async_imap::types::Flag::Seen);
                Some((f.uid?, f.body()?.to_vec(), seen))
            })
            .collect();
        mails.sort_by_key(|(uid, _, _)| *uid);
        let _ = session.logout().await;
        mails.into_iter().map(|(_, m, seen)| (m, seen)).collect()
    }

    /// Wait until `user`'s INBOX holds at least `n` messages; all of them.
    pub async fn wait_mail(&self, user: &str, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mails = self.mailbox(user).await;
            if mails.len() >= n {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{user} has {} messages, expected {n}\npostfix log:\n{}",
                mails.len(),
                std::fs::read_to_string(self.path("postfix.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn expect(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: &str) {
    loop {
        let mut line = String::new();
        read.read_line(&mut line).await.unwrap();
        assert!(
            line.starts_with(code),
            "SMTP: expected {code}, got {line:?}"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

async fn wait_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        self.stop_dovecot();
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(self.path("pf"))
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.postfix.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
