//! gantry's one HTTP client.
//!
//! Every network call gantry makes goes through [`Client`]: reqwest with rustls (ring
//! provider) and HTTP/2 where the server offers it, configured by an explicit
//! [`ClientConfig`] (timeouts, user agent, extra root CA, headers, bearer token), retried
//! by a [`RetryPolicy`] (backoff with jitter, `Retry-After`), and, for GET requests, backed
//! by an on-disk HTTP cache ([`CacheConfig`]) that revalidates with `ETag` /
//! `Last-Modified`, writes atomically, refetches damaged entries, and can answer offline.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gantry_http::Error> {
//! use gantry_http::{CacheConfig, Client, ClientConfig};
//! let mut config = ClientConfig::default();
//! config.cache = CacheConfig::default_dir().map(CacheConfig::new);
//! let client = Client::new(config)?;
//! let response = client.get("https://proxy.golang.org/golang.org/x/mod/@latest").await?;
//! println!("{} bytes ({:?})", response.body.len(), response.source);
//! # Ok(()) }
//! ```

mod cache;
mod retry;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

pub use cache::CacheConfig;
pub use retry::{RetryPolicy, parse_retry_after, status_is_retryable};

/// How the client connects. Every field is explicit; [`ClientConfig::default`] gives
/// gantry's defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Sent as `User-Agent`; defaults to `gantry/<version>`.
    pub user_agent: String,
    /// The longest wait for a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// The longest silence while waiting for response bytes (a stalled server).
    pub read_timeout: Duration,
    /// The longest a single try may take from start to the last body byte.
    pub request_timeout: Duration,
    /// A PEM file of extra root certificates, trusted besides the system's.
    pub extra_root_ca: Option<PathBuf>,
    /// Accept any server certificate. For test servers only.
    pub insecure: bool,
    /// Headers sent with every request, as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer <token>` with every request.
    pub bearer_token: Option<String>,
    pub retry: RetryPolicy,
    /// The on-disk cache for GET requests; `None` disables it.
    pub cache: Option<CacheConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            user_agent: format!("gantry/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            extra_root_ca: None,
            insecure: false,
            headers: Vec::new(),
            bearer_token: None,
            retry: RetryPolicy::default(),
            cache: None,
        }
    }
}

/// Where a response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Fetched from the server (and stored in the cache, if there is one).
    Network,
    /// The server confirmed the cached copy (`304 Not Modified`).
    Revalidated,
    /// From the cache, within its freshness window; the server was not asked.
    Fresh,
    /// From the cache past its freshness window, because the client is offline.
    Stale,
}

/// A successful response with its whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub url: String,
    pub status: u16,
    pub body: Bytes,
    pub source: Source,
    /// How old the answer is: zero from the network, else the cache entry's age.
    pub age: Duration,
    /// Where the body is kept, when the client has a cache.
    cached: Option<CachedBody>,
}

/// A body's cache entry and the body's SHA-256 (hex).
#[derive(Debug, Clone)]
struct CachedBody {
    entry: PathBuf,
    sha256: String,
}

impl Response {
    /// Data of `kind` that a caller derived from this body (a parsed summary, say) and
    /// kept with [`Response::store_derived`], so that a later run reads it instead of
    /// deriving it again. Found only while the cached body is the same, byte for byte.
    /// `kind` names the derivation and its format (`index-summary-v1`: lower-case
    /// letters, digits and `-`). The caller checks what it reads: the cache vouches for
    /// its bodies, not for this. `None` without a cache.
    pub fn derived(&self, kind: &str) -> Option<Vec<u8>> {
        let cached = self.cached.as_ref()?;
        cache::read_derived(&cached.entry, kind, &cached.sha256)
    }

    /// Keeps what [`Response::derived`] reads, beside the body's cache entry (replacing
    /// what was derived from an earlier body). A failure only costs a later run the
    /// derivation, so it is not reported.
    pub fn store_derived(&self, kind: &str, data: &[u8]) {
        if let Some(cached) = &self.cached {
            let _ = cache::write_derived(&cached.entry, kind, &cached.sha256, data);
        }
    }
}

/// An answer read whole whatever its status, for callers that show a server's own error
/// text (a pprof endpoint, Prometheus) or report a download's progress.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub url: String,
    pub status: u16,
    /// The `Content-Type` header, when it is text.
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl RawResponse {
    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How [`Client::get_raw`] reads one answer.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest {
    /// The largest body accepted; a longer one is [`Error::TooLarge`].
    pub limit: u64,
    /// The longest this request may take from start to the last body byte, in place of
    /// [`ClientConfig::request_timeout`] (a pprof capture is known to take its length).
    pub timeout: Option<Duration>,
}

/// Whether `name: value` can be sent as an HTTP header.
pub fn is_valid_header(name: &str, value: &str) -> bool {
    HeaderName::from_bytes(name.as_bytes()).is_ok() && HeaderValue::from_str(value).is_ok()
}

/// The canonical reason phrase of an HTTP status ("Not Found"), if it has one.
pub fn reason_phrase(status: u16) -> Option<&'static str> {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

/// Why a request failed, after retries. Messages name the URL and say what happened in
/// the user's terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{url}: the server answered {status}{}{}", reason(*.status), retry_note(*.retry_after))]
    Status {
        url: String,
        status: u16,
        /// A `Retry-After` longer than the policy allows, when that ended the retries.
        retry_after: Option<Duration>,
        /// The start of the error response's body (at most [`ERROR_BODY_LIMIT`] bytes;
        /// empty for remembered answers): APIs explain their refusals there.
        body: Bytes,
    },
    #[error("{url}: timed out ({tries} {})", if *.tries == 1 { "try" } else { "tries" })]
    Timeout { url: String, tries: u32 },
    #[error("{url}: could not connect: {detail}")]
    Connect { url: String, detail: String },
    #[error("{url}: the response broke off: {detail}")]
    Body { url: String, detail: String },
    #[error("{url}: not in the cache, and offline mode does not use the network")]
    NotCached { url: String },
    #[error("{url}: the response is larger than {limit} bytes, more than gantry accepts")]
    TooLarge {
        url: String,
        limit: u64,
        /// The length the server announced, when it did.
        announced: Option<u64>,
    },
    #[error("HTTP client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The body the server sent with an error status (its start), for APIs that say
    /// why in it, such as `{"error":"..."}`.
    pub fn body(&self) -> Option<&[u8]> {
        match self {
            Error::Status { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// How much of an error response's body is kept: enough for any API's explanation,
/// bounded whatever the server sends.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

fn retry_note(retry_after: Option<Duration>) -> String {
    retry_after.map_or(String::new(), |d| {
        format!(
            " and asked to retry after {} s, longer than gantry waits",
            d.as_secs()
        )
    })
}

fn reason(status: u16) -> String {
    match reason_phrase(status) {
        Some(text) => format!(" ({text})"),
        None => String::new(),
    }
}

/// The client. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    config: std::sync::Arc<ClientConfig>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider; gantry uses ring. Installing
        // fails only when a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::Config(format!("invalid value for header {name}")))?;
            headers.append(name, value);
        }
        if let Some(token) = &config.bearer_token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Error::Config("the bearer token has invalid characters".into()))?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.request_timeout)
            .tls_danger_accept_invalid_certs(config.insecure);
        if let Some(path) = &config.extra_root_ca {
            let pem = std::fs::read(path)
                .map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::Config(format!(
                    "{}: not a PEM certificate file: {e}",
                    path.display()
                ))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let inner = builder.build().map_err(|e| Error::Config(chain(&e)))?;
        Ok(Client {
            inner,
            config: std::sync::Arc::new(config),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether the client answers from its cache only.
    pub fn offline(&self) -> bool {
        self.config.cache.as_ref().is_some_and(|c| c.offline)
    }

    /// GET a URL through the cache.
    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        self.get_accept(url, None).await
    }

    /// GET a URL with an `Accept` header, through the cache. Entries are kept apart
    /// per `Accept` value, since servers answer each differently.
    pub async fn get_accept(&self, url: &str, accept: Option<&str>) -> Result<Response, Error> {
        let now = SystemTime::now();
        let Some(cache) = &self.config.cache else {
            return self
                .fetch(url, accept, None)
                .await
                .map(|fetched| fetched.response);
        };
        let path = cache::entry_path(&cache.dir, url, accept);
        let cached = match cache::read(&path, url) {
            cache::Lookup::Found(entry) => Some(entry),
            // A damaged entry is ignored and overwritten by the refetch.
            cache::Lookup::Missing | cache::Lookup::Corrupt => None,
        };
        if let Some(entry) = &cached {
            let fresh = entry.is_fresh(now);
            if (fresh || cache.offline) && entry.meta.status != 200 {
                return Err(Error::Status {
                    url: url.to_string(),
                    status: entry.meta.status,
                    retry_after: None,
                    body: Bytes::new(),
                });
            }
            if fresh || cache.offline {
                return Ok(Response {
                    url: url.to_string(),
                    status: 200,
                    body: entry.body.clone(),
                    source: if fresh { Source::Fresh } else { Source::Stale },
                    age: entry.age(now),
                    cached: Some(CachedBody {
                        entry: path.clone(),
                        sha256: entry.meta.body_sha256.clone(),
                    }),
                });
            }
        }
        if cache.offline {
            return Err(Error::NotCached {
                url: url.to_string(),
            });
        }
        // A conditional request needs a cached body to fall back on.
        let cached = cached.filter(|entry| entry.meta.status == 200);
        let fetched = match self.fetch(url, accept, cached.as_ref()).await {
            Ok(fetched) => fetched,
            Err(Error::Status {
                status: status @ (404 | 410),
                body,
                ..
            }) => {
                // "Not found" is remembered like an answer, so that a warm run does
                // not ask again within the freshness window.
                let meta = cache::Meta {
                    url: url.to_string(),
                    status,
                    etag: None,
                    last_modified: None,
                    stored_at: cache::unix_secs(SystemTime::now()),
                    fresh_for_secs: cache.default_fresh_for.as_secs(),
                    body_len: 0,
                    body_crc32: None,
                    body_sha256: String::new(),
                };
                let _ = cache::write(&path, meta, b"");
                return Err(Error::Status {
                    url: url.to_string(),
                    status,
                    retry_after: None,
                    body,
                });
            }
            Err(e) => return Err(e),
        };
        let fresh_for = fetched.fresh_for.unwrap_or(cache.default_fresh_for);
        match (fetched.response.status, cached) {
            (304, Some(entry)) => {
                cache::touch(&path, &entry, SystemTime::now(), fresh_for);
                Ok(Response {
                    url: url.to_string(),
                    status: 200,
                    cached: Some(CachedBody {
                        entry: path,
                        sha256: entry.meta.body_sha256,
                    }),
                    body: entry.body,
                    source: Source::Revalidated,
                    age: Duration::ZERO,
                })
            }
            _ => {
                if fetched.storable {
                    let meta = cache::Meta {
                        url: url.to_string(),
                        status: 200,
                        etag: fetched.etag,
                        last_modified: fetched.last_modified,
                        stored_at: cache::unix_secs(SystemTime::now()),
                        fresh_for_secs: fresh_for.as_secs(),
                        body_len: 0,
                        body_crc32: None,
                        body_sha256: String::new(),
                    };
                    // An unwritable cache costs speed on the next run, not correctness.
                    let mut response = fetched.response;
                    response.cached =
                        cache::write(&path, meta, &response.body)
                            .ok()
                            .map(|sha256| CachedBody {
                                entry: path,
                                sha256,
                            });
                    return Ok(response);
                }
                Ok(fetched.response)
            }
        }
    }

    /// POST a JSON document (never cached), with the same retries.
    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> Result<Response, Error> {
        if self.offline() {
            return Err(Error::NotCached {
                url: url.to_string(),
            });
        }
        let body = serde_json::to_vec(body).map_err(|e| Error::Config(e.to_string()))?;
        self.with_retries(url, || {
            self.inner
                .post(url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
        .map(|fetched| fetched.response)
    }

    /// GET `url` once, past the cache, and read the answer whatever its status, up to
    /// `request.limit` bytes. `progress` hears (bytes so far, expected length) after each
    /// chunk. Not retried: a capture or a download is the caller's to repeat.
    pub async fn get_raw(
        &self,
        url: &str,
        request: RawRequest,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<RawResponse, Error> {
        if self.offline() {
            return Err(Error::NotCached {
                url: url.to_string(),
            });
        }
        let mut builder = self.inner.get(url);
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        let failed = |e: reqwest::Error| Attempt::Transport(e).into_error(url, 1);
        let mut response = builder.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let expected = response.content_length();
        let too_large = || Error::TooLarge {
            url: url.to_string(),
            limit: request.limit,
            announced: expected,
        };
        if expected.is_some_and(|len| len > request.limit) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(expected.unwrap_or(0).min(1 << 20) as usize);
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if (body.len() + chunk.len()) as u64 > request.limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
            progress(body.len() as u64, expected);
        }
        Ok(RawResponse {
            url: url.to_string(),
            status,
            content_type,
            body: Bytes::from(body),
        })
    }

    async fn fetch(
        &self,
        url: &str,
        accept: Option<&str>,
        cached: Option<&cache::Entry>,
    ) -> Result<Fetched, Error> {
        self.with_retries(url, || {
            let mut request = self.inner.get(url);
            if let Some(accept) = accept {
                request = request.header(header::ACCEPT, accept);
            }
            if let Some(entry) = cached {
                if let Some(etag) = &entry.meta.etag {
                    request = request.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(date) = &entry.meta.last_modified {
                    request = request.header(header::IF_MODIFIED_SINCE, date);
                }
            }
            request
        })
        .await
    }

    async fn with_retries(
        &self,
        url: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Fetched, Error> {
        let policy = &self.config.retry;
        let attempts = policy.attempts.max(1);
        let mut retry = 0;
        loop {
            let failure = match self.try_once(url, make()).await {
                Ok(fetched) => return Ok(fetched),
                Err(failure) => failure,
            };
            let wait = match &failure {
                Attempt::Status {
                    status,
                    retry_after,
                    ..
                } if status_is_retryable(*status) => match retry_after {
                    Some(wait) if *wait > policy.max_retry_after => None,
                    Some(wait) => Some(*wait),
                    None => Some(policy.backoff(retry)),
                },
                Attempt::Status { .. } => None,
                Attempt::Transport(_) => Some(policy.backoff(retry)),
            };
            match wait {
                Some(wait) if retry + 1 < attempts => {
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                _ => return Err(failure.into_error(url, retry + 1)),
            }
        }
    }

    async fn try_once(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Fetched, Attempt> {
        let mut response = request.send().await.map_err(Attempt::Transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if !(response.status().is_success() || status == 304) {
            let retry_after = if status == 429 || status == 503 {
                headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()))
            } else {
                None
            };
            let body = error_body(&mut response).await;
            return Err(Attempt::Status {
                status,
                retry_after,
                body,
            });
        }
        let body = response.bytes().await.map_err(Attempt::Transport)?;
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (storable, fresh_for) = cache_control(text(header::CACHE_CONTROL).as_deref());
        Ok(Fetched {
            response: Response {
                url: url.to_string(),
                status,
                body,
                source: Source::Network,
                age: Duration::ZERO,
                cached: None,
            },
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
            storable,
            fresh_for,
        })
    }
}

/// One try's result, before it becomes a user-facing [`Error`].
enum Attempt {
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: Bytes,
    },
    Transport(reqwest::Error),
}

impl Attempt {
    fn into_error(self, url: &str, tries: u32) -> Error {
        let url = url.to_string();
        match self {
            Attempt::Status {
                status,
                retry_after,
                body,
            } => Error::Status {
                url,
                status,
                retry_after,
                body,
            },
            Attempt::Transport(e) if e.is_timeout() => Error::Timeout { url, tries },
            Attempt::Transport(e) if e.is_connect() => Error::Connect {
                url,
                detail: chain(&e),
            },
            Attempt::Transport(e) => Error::Body {
                url,
                detail: chain(&e),
            },
        }
    }
}

/// Up to [`ERROR_BODY_LIMIT`] bytes of an error response's body. A body that breaks off
/// leaves what arrived: the status is the error, the body only explains it.
async fn error_body(response: &mut reqwest::Response) -> Bytes {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    Bytes::from(body)
}

struct Fetched {
    response: Response,
    etag: Option<String>,
    last_modified: Option<String>,
    storable: bool,
    fresh_for: Option<Duration>,
}

/// Reads `Cache-Control`: whether the response may be stored, and its `max-age`.
fn cache_control(value: Option<&str>) -> (bool, Option<Duration>) {
    let Some(value) = value else {
        return (true, None);
    };
    let mut storable = true;
    let mut fresh_for = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" {
            storable = false;
        } else if lower == "no-cache" {
            fresh_for = Some(Duration::ZERO);
        } else if let Some(secs) = lower.strip_prefix("max-age=")
            && fresh_for.is_none()
        {
            fresh_for = secs.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    (storable, fresh_for)
}

/// An error with its sources, on one line: reqwest's own message alone is too terse.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback server that answers every request with `status` and `body`.
    async fn answering(status: &'static str, body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn error_statuses_hand_back_the_start_of_their_body() {
        let explained = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let url = answering("400 Bad Request", explained.to_vec()).await;
        let client = Client::new(ClientConfig::default()).unwrap();
        let err = client.get(&url).await.unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.body(), Some(&explained[..]));
        assert_eq!(
            err.to_string(),
            format!("{url}: the server answered 400 (Bad Request)")
        );

        let huge = vec![b'x'; 3 * ERROR_BODY_LIMIT];
        let url = answering("422 Unprocessable Entity", huge).await;
        let err = client.get(&url).await.unwrap_err();
        assert_eq!(err.body().map(<[u8]>::len), Some(ERROR_BODY_LIMIT));

        let err = Error::Timeout { url, tries: 1 };
        assert_eq!(err.body(), None);
    }

    #[tokio::test]
    async fn data_derived_from_a_body_is_kept_while_the_body_is() {
        let dir = tempfile::tempdir().unwrap();
        let url = answering("200 OK", b"{}".to_vec()).await;
        let client = Client::new(ClientConfig {
            cache: Some(CacheConfig::new(dir.path().to_path_buf())),
            ..Default::default()
        })
        .unwrap();
        let fetched = client.get(&url).await.unwrap();
        assert_eq!(fetched.source, Source::Network);
        assert_eq!(fetched.derived("summary-v1"), None);
        fetched.store_derived("summary-v1", b"parsed");
        let cached = client.get(&url).await.unwrap();
        assert_eq!(cached.source, Source::Fresh);
        assert_eq!(
            cached.derived("summary-v1").as_deref(),
            Some(&b"parsed"[..])
        );
        // Without a cache there is nowhere to keep it.
        let uncached = Client::new(ClientConfig::default()).unwrap();
        let plain = uncached.get(&url).await.unwrap();
        plain.store_derived("summary-v1", b"parsed");
        assert_eq!(plain.derived("summary-v1"), None);
    }

    #[test]
    fn cache_control_directives() {
        assert_eq!(cache_control(None), (true, None));
        assert_eq!(
            cache_control(Some("public, max-age=300")),
            (true, Some(Duration::from_secs(300)))
        );
        assert_eq!(cache_control(Some("no-store")), (false, None));
        assert_eq!(
            cache_control(Some("no-cache, max-age=60")),
            (true, Some(Duration::ZERO))
        );
    }
}
