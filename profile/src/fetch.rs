//! Getting profile bytes: from a pprof HTTP endpoint (with headers, a bearer token, a CA
//! file or no verification, and timeouts that allow for the capture), a file, or stdin.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gantry_http::{ClientConfig, RawRequest, RetryPolicy};
use url::Url;

use crate::decode::{Profile, looks_like_html};
use crate::error::{Error, Origin, Result};

/// What `SOURCE` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A service's address (`http://host:6060`) or a full pprof URL.
    Url(String),
    File(PathBuf),
    Stdin,
}

impl Source {
    /// Reads `SOURCE` as `go tool pprof` does: `-` is stdin, `http(s)://…` a URL, an
    /// existing file a file, and otherwise `HOST:PORT[/PATH]` a service's address.
    pub fn parse(text: &str) -> Result<Source> {
        if text == "-" {
            return Ok(Source::Stdin);
        }
        let bad = || Error::BadSource(text.to_string());
        if text.is_empty() {
            return Err(bad());
        }
        if text.contains("://") {
            let url = Url::parse(text).map_err(|_| bad())?;
            let web = matches!(url.scheme(), "http" | "https") && url.host().is_some();
            return if web {
                Ok(Source::Url(url.into()))
            } else {
                Err(bad())
            };
        }
        let path = Path::new(text);
        if !path.exists()
            && let Some(url) = address_url(text)
        {
            return Ok(Source::Url(url));
        }
        Ok(Source::File(path.to_path_buf()))
    }
}

/// `HOST:PORT[/PATH]` as an `http://` URL. The port is what tells an address from a file
/// name such as `cpu.pb.gz`.
fn address_url(text: &str) -> Option<String> {
    let url = Url::parse(&format!("http://{text}")).ok()?;
    url.port()?;
    Some(url.into())
}
/// The profiles a Go service serves under `/debug/pprof/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileType {
    #[default]
    Cpu,
    Heap,
    Allocs,
    Goroutine,
    Block,
    Mutex,
}

impl ProfileType {
    pub const ALL: [ProfileType; 6] = [
        ProfileType::Cpu,
        ProfileType::Heap,
        ProfileType::Allocs,
        ProfileType::Goroutine,
        ProfileType::Block,
        ProfileType::Mutex,
    ];

    /// What users call it (`--type`): pprof's profile names, with `cpu` for `profile`.
    pub fn name(self) -> &'static str {
        match self {
            ProfileType::Cpu => "cpu",
            other => other.endpoint(),
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ProfileType::Cpu => "profile",
            ProfileType::Heap => "heap",
            ProfileType::Allocs => "allocs",
            ProfileType::Goroutine => "goroutine",
            ProfileType::Block => "block",
            ProfileType::Mutex => "mutex",
        }
    }
}

/// pprof's default CPU capture length.
pub const DEFAULT_CPU_SECONDS: u64 = 30;

/// How to reach a pprof endpoint.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Which profile a base URL resolves to.
    pub profile_type: ProfileType,
    /// Capture length: `?seconds=N` (CPU profiles, or delta profiles of other types).
    pub seconds: Option<u64>,
    /// How long the server may take beyond the capture itself: to accept the connection,
    /// to answer, and to send the body.
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// PEM file with the CA certificates to trust instead of the built-in roots.
    pub cacert: Option<PathBuf>,
    /// Skip TLS certificate verification.
    pub insecure: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            profile_type: ProfileType::Cpu,
            seconds: None,
            timeout: Duration::from_secs(30),
            headers: Vec::new(),
            token: None,
            cacert: None,
            insecure: false,
        }
    }
}

/// The largest profile body accepted from a server.
const MAX_BODY: u64 = 4 << 30;

/// Resolves a URL source: a bare address (or one ending in `/debug/pprof`) gets
/// `/debug/pprof/<type>`, and `seconds=N` is added when asked for (always for CPU).
pub fn resolve_url(url: &str, options: &FetchOptions) -> String {
    let Ok(mut resolved) = Url::parse(url) else {
        return url.to_string();
    };
    let bare = matches!(resolved.path().trim_end_matches('/'), "" | "/debug/pprof");
    if bare {
        resolved.set_path(&format!("/debug/pprof/{}", options.profile_type.endpoint()));
    }
    let seconds = match (bare, options.profile_type, options.seconds) {
        (_, _, Some(s)) => Some(s),
        (true, ProfileType::Cpu, None) => Some(DEFAULT_CPU_SECONDS),
        _ => None,
    };
    if let Some(seconds) = seconds
        && seconds_of(&resolved).is_none()
    {
        resolved
            .query_pairs_mut()
            .append_pair("seconds", &seconds.to_string());
    }
    resolved.into()
}

/// The `seconds=N` query parameter of a URL: how long the server captures before it
/// answers.
pub fn query_seconds(url: &str) -> Option<u64> {
    seconds_of(&Url::parse(url).ok()?)
}

fn seconds_of(url: &Url) -> Option<u64> {
    url.query_pairs()
        .find(|(key, _)| key == "seconds")
        .and_then(|(_, value)| value.parse().ok())
}

/// Parses `--header NAME:VALUE`.
pub fn parse_header(text: &str) -> Result<(String, String)> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| Error::BadHeader(text.to_string()))?;
    let (name, value) = (name.trim(), value.trim());
    if !gantry_http::is_valid_header(name, value) {
        return Err(Error::BadHeader(text.to_string()));
    }
    Ok((name.to_string(), value.to_string()))
}

/// An HTTP client set up once for several requests (as `leaks` makes): gantry's one
/// client, without retries, since a capture takes its whole length each time.
pub struct Client {
    http: gantry_http::Client,
    timeout: Duration,
}

impl Client {
    pub fn new(options: &FetchOptions) -> Result<Client> {
        for (name, value) in &options.headers {
            parse_header(&format!("{name}:{value}"))?;
        }
        let config = ClientConfig {
            connect_timeout: options.timeout,
            // A CPU capture sends nothing until it ends; each request's own timeout,
            // the capture plus `timeout`, bounds the wait instead. (A day, not
            // `Duration::MAX`, which overflows when added to an instant.)
            read_timeout: Duration::from_secs(24 * 3600),
            request_timeout: options.timeout,
            extra_root_ca: options.cacert.clone(),
            insecure: options.insecure,
            headers: options.headers.clone(),
            bearer_token: options.token.clone(),
            retry: RetryPolicy {
                attempts: 1,
                ..RetryPolicy::default()
            },
            cache: None,
            ..ClientConfig::default()
        };
        let http = gantry_http::Client::new(config).map_err(|e| match (&options.cacert, e) {
            (Some(path), gantry_http::Error::Config(message)) => Error::BadCaCert {
                path: path.clone(),
                message,
            },
            (_, e) => Error::Connection(e.to_string()),
        })?;
        Ok(Client {
            http,
            timeout: options.timeout,
        })
    }

    /// GETs `url` (already resolved) and returns the body of a successful answer.
    pub fn get(&self, url: &str) -> Result<Vec<u8>> {
        let capture = Duration::from_secs(query_seconds(url).unwrap_or(0));
        let wait = capture + self.timeout;
        let request = RawRequest {
            limit: MAX_BODY,
            timeout: Some(wait),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Connect {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        let response = runtime.block_on(self.http.get_raw(url, request, |_, _| {}));
        // A DNS lookup whose answer was lost holds a blocking thread until the resolver's
        // 5 s retry; its answer no longer matters, so the exit does not wait for it.
        runtime.shutdown_background();
        let response = response.map_err(|e| net_error(url, e, wait))?;
        let html = response
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"));
        if !response.is_success() {
            let head = &response.body[..response.body.len().min(4096)];
            return Err(Error::Status {
                url: url.to_string(),
                status: response.status,
                detail: status_detail(response.status, head, html),
            });
        }
        let origin = Origin::Url(url.to_string());
        if html || looks_like_html(&response.body) {
            return Err(Error::Html { origin });
        }
        Ok(response.body.to_vec())
    }
}

fn status_detail(status: u16, head: &[u8], html: bool) -> String {
    let reason = gantry_http::reason_phrase(status).unwrap_or("");
    let text = String::from_utf8_lossy(head);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    match first {
        Some(line) if !html && !looks_like_html(head) => {
            let line: String = line.chars().take(200).collect();
            if reason.is_empty() {
                line
            } else {
                format!("{reason} ({line})")
            }
        }
        _ => reason.to_string(),
    }
}

fn net_error(url: &str, err: gantry_http::Error, wait: Duration) -> Error {
    let url = url.to_string();
    match err {
        gantry_http::Error::Timeout { .. } => Error::Timeout {
            url,
            seconds: wait.as_secs(),
        },
        gantry_http::Error::Connect { detail, .. } => Error::Connect {
            url,
            message: connect_message(&detail),
        },
        other => Error::Connect {
            url,
            message: other.to_string(),
        },
    }
}

/// The part of a connection error a user acts on: refused, or a name that did not
/// resolve, else the whole chain.
fn connect_message(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused".into()
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        "host not found".into()
    } else {
        detail.to_string()
    }
}

/// Reads the raw bytes of a source (an URL is resolved first).
pub fn fetch_bytes(source: &Source, options: &FetchOptions) -> Result<(Bytes, Origin)> {
    match source {
        Source::Url(url) => {
            let url = resolve_url(url, options);
            let body = Client::new(options)?.get(&url)?;
            Ok((Bytes::Received(body), Origin::Url(url)))
        }
        Source::File(path) => {
            let bytes = read_file(path).map_err(|source| Error::ReadFile {
                path: path.clone(),
                source,
            })?;
            Ok((bytes, Origin::File(path.clone())))
        }
        Source::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(Error::ReadStdin)?;
            Ok((Bytes::Received(bytes), Origin::Stdin))
        }
    }
}

/// A profile's raw bytes, read as `&[u8]`.
pub enum Bytes {
    /// A regular file, mapped into memory.
    Mapped(memmap2::Mmap),
    /// Bytes from a server, stdin, or a file that cannot be mapped.
    Received(Vec<u8>),
}

impl Bytes {
    /// The bytes as a vector of their own: a mapped file is copied.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Bytes::Mapped(map) => map.to_vec(),
            Bytes::Received(bytes) => bytes,
        }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Received(bytes) => bytes,
        }
    }
}

/// Reads the whole file at `path`. A regular file is mapped, not copied: for a file the
/// system has cached, copying it into new memory, and first touching that memory, took
/// most of the time spent reading it. Anything else (a pipe, an empty or a `/proc` file)
/// is read.
fn read_file(path: &Path) -> std::io::Result<Bytes> {
    let mut file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_file() && metadata.len() > 0 {
        // SAFETY: the map is read-only, and nothing here writes the file. Another
        // process that truncates it while it is mapped makes reads of the pages cut off
        // raise SIGBUS, as for any tool that maps the files it reads (ripgrep and git
        // among them); the CLI turns that into a one-line error. A file replaced by a
        // rename, as gantry saves its own, leaves the mapped one as it was.
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            return Ok(Bytes::Mapped(map));
        }
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Bytes::Received(bytes))
}

/// Fetches and decodes a profile.
pub fn load(source: &Source, options: &FetchOptions) -> Result<Profile> {
    let (bytes, origin) = fetch_bytes(source, options)?;
    Profile::decode(&bytes, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_whole_mapped_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.prof");
        let bytes: Vec<u8> = (0..100_003u64)
            .map(|i| (i.wrapping_mul(0x9e37_79b9) >> 24) as u8)
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let read = read_file(&path).unwrap();
        assert!(matches!(read, Bytes::Mapped(_)));
        assert!(*read == bytes);
        // An empty file cannot be mapped, and a device is not a regular file.
        std::fs::write(&path, b"").unwrap();
        assert!(read_file(&path).unwrap().is_empty());
        #[cfg(unix)]
        assert!(matches!(
            read_file(Path::new("/dev/null")).unwrap(),
            Bytes::Received(_)
        ));
        assert!(read_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn base_urls_resolve_to_the_type_endpoint() {
        let mut o = FetchOptions::default();
        assert_eq!(
            resolve_url("http://h:6060", &o),
            "http://h:6060/debug/pprof/profile?seconds=30"
        );
        o.seconds = Some(5);
        assert_eq!(
            resolve_url("http://h:6060/debug/pprof/", &o),
            "http://h:6060/debug/pprof/profile?seconds=5"
        );
        o.seconds = None;
        o.profile_type = ProfileType::Heap;
        assert_eq!(resolve_url("https://h/", &o), "https://h/debug/pprof/heap");
        assert_eq!(
            resolve_url("http://h/debug/pprof/goroutine?debug=0", &o),
            "http://h/debug/pprof/goroutine?debug=0"
        );
        o.seconds = Some(2);
        assert_eq!(
            resolve_url("http://h/x/profile?seconds=9", &o),
            "http://h/x/profile?seconds=9"
        );
        assert_eq!(query_seconds("http://h/p?a=1&seconds=9"), Some(9));
    }

    #[test]
    fn headers_and_sources_parse() {
        assert_eq!(
            parse_header("X-Api-Key: abc").unwrap(),
            ("X-Api-Key".into(), "abc".into())
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name:v").is_err());
        assert_eq!(Source::parse("-").unwrap(), Source::Stdin);
        assert!(matches!(
            Source::parse("cpu.pb.gz").unwrap(),
            Source::File(_)
        ));
        assert!(Source::parse("ftp://x").is_err());
    }
}
