//! An in-memory channel for tests: inbound messages are pushed by the test, sent messages are
//! recorded, and send failures can be scripted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Channel, ChannelCaps, ChannelError, Delivered, SendError};
use crate::intake::Intake;
use crate::model::{Inbound, Outgoing};

/// A sent message and the clock time it was sent at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// What was sent.
    pub message: Outgoing,
    /// When, in unix ms on the store's clock.
    pub at_ms: i64,
}

/// How the next send to one recipient behaves, scripted by a test.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Wait this long (on the runtime's clock), then deliver.
    Hang(Duration),
    /// Panic, as a bug in a channel would.
    Panic,
}

/// An in-memory channel.
pub struct MemoryChannel {
    name: String,
    caps: ChannelCaps,
    inbox: Mutex<Option<mpsc::UnboundedReceiver<Inbound>>>,
    sender: mpsc::UnboundedSender<Inbound>,
    sent: Mutex<Vec<Sent>>,
    attempts: Mutex<Vec<Sent>>,
    failures: Mutex<VecDeque<SendError>>,
    scripts: Mutex<HashMap<String, VecDeque<Behaviour>>>,
    clock: Mutex<Option<crate::clock::Clock>>,
    notify: Notify,
}

impl MemoryChannel {
    /// A channel with this name and capabilities.
    pub fn new(name: &str, caps: ChannelCaps) -> Arc<Self> {
        let (sender, inbox) = mpsc::unbounded_channel();
        Arc::new(Self {
            name: name.to_string(),
            caps,
            inbox: Mutex::new(Some(inbox)),
            sender,
            sent: Mutex::new(Vec::new()),
            attempts: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            scripts: Mutex::new(HashMap::new()),
            clock: Mutex::new(None),
            notify: Notify::new(),
        })
    }

    /// Queue a message as if the platform had delivered it; `run` hands it to intake.
    pub fn push(&self, inbound: Inbound) {
        let _ = self.sender.send(inbound);
    }

    /// Make the next sends fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = SendError>) {
        self.failures.lock().unwrap().extend(errors);
    }

    /// Make the next send to `recipient` behave so (once; several calls queue up).
    pub fn script(&self, recipient: &str, behaviour: Behaviour) {
        self.scripts
            .lock()
            .unwrap()
            .entry(recipient.to_string())
            .or_default()
            .push_back(behaviour);
    }

    /// Messages delivered so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// Every send attempt, failed ones included.
    pub fn attempts(&self) -> Vec<Sent> {
        self.attempts.lock().unwrap().clone()
    }

    /// Wait until at least `n` messages have been delivered.
    pub async fn wait_sent(&self, n: usize) -> Vec<Sent> {
        loop {
            let notified = self.notify.notified();
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            notified.await;
        }
    }

    /// Read times from this clock when recording sends.
    pub fn use_clock(&self, clock: crate::clock::Clock) {
        *self.clock.lock().unwrap() = Some(clock);
    }
}

#[async_trait]
impl Channel for MemoryChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn caps(&self) -> ChannelCaps {
        self.caps
    }

    async fn run(
        self: Arc<Self>,
        intake: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError> {
        let mut inbox = self
            .inbox
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| ChannelError {
                channel: self.name.clone(),
                message: "already running".into(),
            })?;
        loop {
            let inbound = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                m = inbox.recv() => match m { Some(m) => m, None => return Ok(()) },
            };
            if let Err(e) = intake.receive(inbound).await {
                intake.health().error(&self.name, &e.to_string());
            }
        }
    }

    async fn send(&self, message: &Outgoing) -> Result<Delivered, SendError> {
        let at_ms = self
            .clock
            .lock()
            .unwrap()
            .map(|c| c.now_ms())
            .unwrap_or_default();
        let record = Sent {
            message: message.clone(),
            at_ms,
        };
        self.attempts.lock().unwrap().push(record.clone());
        let scripted = self
            .scripts
            .lock()
            .unwrap()
            .get_mut(&message.recipient)
            .and_then(|q| q.pop_front());
        match scripted {
            Some(Behaviour::Hang(d)) => tokio::time::sleep(d).await,
            Some(Behaviour::Panic) => panic!("scripted panic sending to {}", message.recipient),
            None => {}
        }
        if let Some(err) = self.failures.lock().unwrap().pop_front() {
            return Err(err);
        }
        self.sent.lock().unwrap().push(record);
        self.notify.notify_waiters();
        Ok(Delivered {
            platform_ref: Some(format!("mem-{}", message.id)),
        })
    }
}
