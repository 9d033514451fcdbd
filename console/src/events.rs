//! Live queue updates: a tokio broadcast channel that console actions notify at once, and a
//! watch on the database so that changes made by intake or by other `sportello serve`
//! processes reach every open queue page too. On PostgreSQL the watch listens for the
//! queue's notifications (sent by triggers, from any process); when its connection is lost it
//! reconnects and sends one change, so that open pages read the queue again and miss nothing.
//! On SQLite it polls the queue's fingerprint. The watch runs only while someone listens.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sportello_core::store::notify::QUEUE_CHANNEL;
use sportello_core::store::{Backend, Store};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The queue's change notifications.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<()>,
    polling: Arc<AtomicBool>,
    store: Store,
    every: Duration,
    shutdown: CancellationToken,
}

impl Events {
    /// Events over a store, polled every `every` while someone listens.
    pub fn new(store: Store, every: Duration, shutdown: CancellationToken) -> Self {
        Self {
            tx: broadcast::channel(16).0,
            polling: Arc::new(AtomicBool::new(false)),
            store,
            every,
            shutdown,
        }
    }

    /// Tell listeners the queue changed.
    pub fn notify(&self) {
        let _ = self.tx.send(());
    }

    /// Listen for changes, starting the database poll if nobody else listens.
    pub fn subscribe(&self) -> broadcast::Receiver<()> {
        let rx = self.tx.subscribe();
        if !self.polling.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().poll());
        }
        rx
    }

    async fn poll(self) {
        if self.store.backend() == Backend::Postgres {
            self.listen().await;
        } else {
            self.poll_fingerprint().await;
        }
        self.polling.store(false, Ordering::SeqCst);
    }

    /// Whether the watch should stop: nobody listens any more (checked as
    /// [`Events::subscribe`] may be starting another watch meanwhile).
    fn nobody_listens(&self) -> bool {
        if self.tx.receiver_count() == 0 {
            self.polling.store(false, Ordering::SeqCst);
            // Someone may have subscribed between the count and the store.
            if self.tx.receiver_count() == 0 || self.polling.swap(true, Ordering::SeqCst) {
                return true;
            }
        }
        false
    }

    async fn poll_fingerprint(&self) {
        let mut last = self.store.queue_fingerprint().await.ok();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = self.shutdown.cancelled() => return,
            }
            if self.nobody_listens() {
                return;
            }
            match self.store.queue_fingerprint().await {
                Ok(now) if Some(&now) != last.as_ref() => {
                    last = Some(now);
                    self.notify();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot poll the queue for live updates"),
            }
        }
    }

    /// Follow the queue's notifications from every process on PostgreSQL.
    async fn listen(&self) {
        let mut listener = None;
        let mut connected_once = false;
        loop {
            let Some(l) = listener.as_mut() else {
                match self.store.listen(&[QUEUE_CHANNEL]).await {
                    Ok(Some(l)) => {
                        listener = Some(l);
                        if connected_once {
                            // Changes made while disconnected went unannounced: resync.
                            tracing::info!("queue notifications: listening again");
                            self.notify();
                        }
                        connected_once = true;
                    }
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for queue changes; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(self.every) => {}
                            _ = self.shutdown.cancelled() => return,
                        }
                        if self.nobody_listens() {
                            return;
                        }
                    }
                }
                continue;
            };
            // Waits for the next notification only (no timer: a notification half read
            // must not be dropped); whether anyone still listens is checked after each.
            tokio::select! {
                r = l.try_recv() => match r {
                    Ok(Some(_)) => {
                        // One change for a burst: what arrived meanwhile is read at once.
                        while l.next_buffered().is_some() {}
                        self.notify();
                        if self.nobody_listens() {
                            return;
                        }
                    }
                    Ok(None) | Err(_) => {
                        tracing::warn!("queue notifications: connection lost; reconnecting");
                        listener = None;
                    }
                },
                _ = self.shutdown.cancelled() => return,
            }
        }
    }

    /// A Server-Sent Events stream: one `queue` event per change, until shutdown.
    pub fn stream(&self) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        let rx = self.subscribe();
        let stop = self.shutdown.clone();
        let stream = futures_util::stream::unfold((rx, stop), |(mut rx, stop)| async move {
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        Some((Ok(Event::default().event("queue").data("changed")), (rx, stop)))
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                },
                _ = stop.cancelled() => None,
            }
        });
        Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
    }
}
