//! Live queue updates: a tokio broadcast channel that console actions notify at once, and a
//! short poll of the database's queue fingerprint so that changes made by intake or by other
//! `sportello serve` processes on the same PostgreSQL reach every open queue page too.
//! The poll runs only while someone listens.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sportello_core::store::Store;
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
        let mut last = self.store.queue_fingerprint().await.ok();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = self.shutdown.cancelled() => break,
            }
            if self.tx.receiver_count() == 0 {
                self.polling.store(false, Ordering::SeqCst);
                // Someone may have subscribed between the count and the store.
                if self.tx.receiver_count() == 0 || self.polling.swap(true, Ordering::SeqCst) {
                    return;
                }
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
        self.polling.store(false, Ordering::SeqCst);
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
