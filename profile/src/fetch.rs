//! Getting profile bytes: from a pprof HTTP endpoint (with headers, a bearer token, a CA
//! file or no verification, and timeouts that allow for the capture), a file, or stdin.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue};

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
    pub fn parse(text: &str) -> Result<Source> {
        if text == "-" {
            return Ok(Source::Stdin);
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(Source::Url(text.to_string()));
        }
        if lower.contains("://") || text.is_empty() {
            return Err(Error::BadSource(text.to_string()));
        }
        Ok(Source::File(PathBuf::from(text)))
    }
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
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let (authority, path) = url.split_at(path_start);
    let bare = matches!(
        path.trim_end_matches('/'),
        "" | "/debug/pprof" | "/debug/pprof/"
    );
    let mut resolved = if bare {
        format!(
            "{authority}/debug/pprof/{}",
            options.profile_type.endpoint()
        )
    } else {
        url.to_string()
    };
    let seconds = match (bare, options.profile_type, options.seconds) {
        (_, _, Some(s)) => Some(s),
        (true, ProfileType::Cpu, None) => Some(DEFAULT_CPU_SECONDS),
        _ => None,
    };
    if let Some(seconds) = seconds
        && query_seconds(&resolved).is_none()
    {
        resolved.push(if resolved.contains('?') { '&' } else { '?' });
        resolved.push_str(&format!("seconds={seconds}"));
    }
    resolved
}

/// The `seconds=N` query parameter of a URL: how long the server captures before it
/// answers.
pub fn query_seconds(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("seconds="))
        .and_then(|v| v.parse().ok())
}

/// Parses `--header NAME:VALUE`.
pub fn parse_header(text: &str) -> Result<(String, String)> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| Error::BadHeader(text.to_string()))?;
    let (name, value) = (name.trim(), value.trim());
    if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err() {
        return Err(Error::BadHeader(text.to_string()));
    }
    Ok((name.to_string(), value.to_string()))
}

/// An HTTP client set up once for several requests (as `leaks` makes).
pub struct Client {
    agent: ureq::Agent,
    options: FetchOptions,
}

impl Client {
    pub fn new(options: &FetchOptions) -> Result<Client> {
        let mut tls = ureq::tls::TlsConfig::builder().disable_verification(options.insecure);
        if let Some(path) = &options.cacert {
            let bad = |message: String| Error::BadCaCert {
                path: path.clone(),
                message,
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                if let ureq::tls::PemItem::Certificate(cert) =
                    item.map_err(|e| bad(e.to_string()))?
                {
                    certs.push(cert);
                }
            }
            if certs.is_empty() {
                return Err(bad("no PEM certificate in it".into()));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        for (name, value) in &options.headers {
            parse_header(&format!("{name}:{value}"))?;
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(options.timeout))
            .timeout_recv_body(Some(options.timeout))
            .tls_config(tls.build())
            .build();
        Ok(Client {
            agent: config.into(),
            options: options.clone(),
        })
    }

    /// GETs `url` (already resolved) and returns the body of a successful answer.
    pub fn get(&self, url: &str) -> Result<Vec<u8>> {
        let capture = Duration::from_secs(query_seconds(url).unwrap_or(0));
        let wait = capture + self.options.timeout;
        let mut request = self
            .agent
            .get(url)
            .config()
            .timeout_recv_response(Some(wait))
            .build();
        for (name, value) in &self.options.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(token) = &self.options.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let net = |e: ureq::Error| net_error(url, e, wait);
        let mut response = request.call().map_err(net)?;
        let status = response.status().as_u16();
        let html = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"));
        if !(200..300).contains(&status) {
            let mut head = Vec::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(4096)
                .read_to_end(&mut head);
            return Err(Error::Status {
                url: url.to_string(),
                status,
                detail: status_detail(status, &head, html),
            });
        }
        let origin = Origin::Url(url.to_string());
        if html {
            return Err(Error::Html { origin });
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(net)?;
        if looks_like_html(&body) {
            return Err(Error::Html { origin });
        }
        Ok(body)
    }
}

fn status_detail(status: u16, head: &[u8], html: bool) -> String {
    let reason = ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
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

fn net_error(url: &str, err: ureq::Error, wait: Duration) -> Error {
    let url = url.to_string();
    match err {
        ureq::Error::Timeout(_) => Error::Timeout {
            url,
            seconds: wait.as_secs(),
        },
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => Error::Timeout {
            url,
            seconds: wait.as_secs(),
        },
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Error::Connect {
            url,
            message: "connection refused".into(),
        },
        ureq::Error::HostNotFound => Error::Connect {
            url,
            message: "host not found".into(),
        },
        ureq::Error::ConnectionFailed => Error::Connect {
            url,
            message: "could not connect".into(),
        },
        other => Error::Connect {
            url,
            message: other.to_string(),
        },
    }
}

/// Reads the raw bytes of a source (an URL is resolved first).
pub fn fetch_bytes(source: &Source, options: &FetchOptions) -> Result<(Vec<u8>, Origin)> {
    match source {
        Source::Url(url) => {
            let url = resolve_url(url, options);
            let body = Client::new(options)?.get(&url)?;
            Ok((body, Origin::Url(url)))
        }
        Source::File(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
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
            Ok((bytes, Origin::Stdin))
        }
    }
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
