//! `--header`, `--token`, `--cacert` and `--insecure`: how every command that talks to a
//! protected HTTP endpoint (a pprof server, Prometheus) is told to authenticate, defined
//! once so that the flags read and behave the same everywhere. Each command names the
//! environment variable its token may come from (`mut_arg("token", ...)`), so that a
//! token meant for one server is never sent to another.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Default, Args)]
pub struct HttpArgs {
    /// Extra request header for protected endpoints (repeatable)
    #[arg(long = "header", value_name = "NAME:VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// Bearer token for protected endpoints
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Trust the CA certificates in this PEM file instead of the built-in roots
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Do not verify the server's TLS certificate
    #[arg(long)]
    pub insecure: bool,
}

impl HttpArgs {
    /// The flags as gantry's HTTP client takes them; timeouts and retries are the
    /// caller's.
    pub fn client_config(&self) -> gantry_http::ClientConfig {
        gantry_http::ClientConfig {
            headers: self.headers.clone(),
            bearer_token: self.token.clone(),
            extra_root_ca: self.cacert.clone(),
            insecure: self.insecure,
            ..gantry_http::ClientConfig::default()
        }
    }
}

/// `NAME:VALUE`, with a name and value HTTP accepts.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let invalid = || format!("invalid --header {text:?}: expected NAME:VALUE");
    let (name, value) = text.split_once(':').ok_or_else(invalid)?;
    let (name, value) = (name.trim(), value.trim());
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let value_ok = value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if !(name_ok && value_ok) {
        return Err(invalid());
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            parse_header("X-Api-Key: abc:def").unwrap(),
            ("X-Api-Key".to_string(), "abc:def".to_string())
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name:v").is_err());
        assert!(parse_header(":v").is_err());
        assert!(parse_header("X-Ok:line\nbreak").is_err());
    }
}
