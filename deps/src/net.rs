//! The shared side of every registry lookup: one HTTP client, a bound on requests in
//! flight, progress reporting, and a record of answers that came stale from the cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gantry_http::{Client, Response, Source};
use tokio::sync::Semaphore;

use crate::model::Ecosystem;

/// Receives progress while an audit runs (the CLI draws a bar on a terminal).
pub trait Progress: Send + Sync {
    /// `total` dependencies of `ecosystem` are about to be looked up.
    fn start(&self, ecosystem: Ecosystem, total: usize);
    /// One more dependency is done.
    fn advance(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Ecosystem, _: usize) {}
    fn advance(&self) {}
}

#[derive(Clone)]
pub struct Net {
    pub client: Client,
    limit: Arc<Semaphore>,
    pub progress: Arc<dyn Progress>,
}

impl Net {
    pub fn new(client: Client, concurrency: usize, progress: Arc<dyn Progress>) -> Self {
        Net {
            client,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            progress,
        }
    }

    /// GET through the cache, at most `concurrency` at a time. `stale` is set when the
    /// answer came from the cache past its freshness (offline mode).
    pub async fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        stale: &AtomicBool,
    ) -> Result<Response, gantry_http::Error> {
        let _permit = self.permit().await;
        let response = self.client.get_accept(url, accept).await?;
        if response.source == Source::Stale {
            stale.store(true, Ordering::Relaxed);
        }
        Ok(response)
    }

    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Response, gantry_http::Error> {
        let _permit = self.permit().await;
        self.client.post_json(url, body).await
    }

    /// A turn among the `concurrency` requests allowed at once.
    async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.limit
            .acquire()
            .await
            .expect("the semaphore is never closed")
    }
}

/// Joins a registry base URL and a path with exactly one `/` between them.
pub fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
