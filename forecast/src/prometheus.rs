//! A series straight from Prometheus: one `/api/v1/query_range` call through gantry's
//! HTTP client, its answer read by [`read_series`] as a saved response would be.
//!
//! It lives here, beside the file readers, because it is one more way to get the series
//! a forecast reads, and `gantry forecast` can use it as well as `scale --predict`;
//! nothing in it knows about Kubernetes. What it adds to reading a saved response is
//! the query itself and its failures, worded for whoever wrote the PromQL: Prometheus's
//! own error text for a bad query, the label sets (and a `sum(...)` to try) when the
//! query matches several series, and the server's address for the network's failures.

use std::collections::BTreeMap;
use std::time::Duration;

use gantry_http::{Client, ClientConfig, RetryPolicy};
use serde::Deserialize;

use crate::read::{Loaded, ReadOptions, SeriesError, label_set, read_series};

/// Prometheus refuses range queries of more points than this per series.
pub const MAX_POINTS: u64 = 11_000;

/// A range query: `query` evaluated every `step` over the `range` that ends at `end`.
#[derive(Debug, Clone)]
pub struct RangeQuery {
    /// The server's base URL (`http://prometheus:9090`, perhaps with a path prefix).
    pub url: String,
    pub query: String,
    pub range: Duration,
    pub step: Duration,
    /// Unix seconds; rounded down to a multiple of `step` so that repeated runs ask for
    /// the same grid.
    pub end: i64,
    /// The whole call's deadline, retries included.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error("--prometheus {url} is not an http(s) URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("--step {step} must be a whole number of seconds, at least 1s")]
    BadStep { step: String },
    #[error(
        "--range at --step {step} is {points} points, more than the {MAX_POINTS} Prometheus answers per series; raise --step or shorten --range"
    )]
    TooManyPoints { step: String, points: u64 },
    #[error("Prometheus at {url} refused the query: {message}")]
    Refused { url: String, message: String },
    #[error("Prometheus at {url} answered {status}{}", .reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        reason: Option<String>,
    },
    #[error("cannot reach Prometheus at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("Prometheus at {url} did not answer within {timeout} (--timeout)")]
    Timeout { url: String, timeout: String },
    #[error("the query `{query}` matched no series between {from} and {to}")]
    NoSeries {
        query: String,
        from: String,
        to: String,
    },
    #[error(
        "the query `{query}` matched {count} series: {shown}; it must match one, for example `sum({query})` or `max({query})`, or a label matcher that picks one"
    )]
    SeveralSeries {
        query: String,
        count: usize,
        shown: String,
    },
    #[error(
        "Prometheus at {url} answered with something other than a range query's result: {detail}"
    )]
    NotPrometheus { url: String, detail: String },
    #[error(transparent)]
    Series(#[from] SeriesError),
    #[error("{0}")]
    Client(String),
}

impl PrometheusError {
    /// Whether the command line (rather than the server or the network) is at fault.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            PrometheusError::BadUrl { .. }
                | PrometheusError::BadStep { .. }
                | PrometheusError::TooManyPoints { .. }
                | PrometheusError::Refused { .. }
                | PrometheusError::NoSeries { .. }
                | PrometheusError::SeveralSeries { .. }
                | PrometheusError::Series(_)
                | PrometheusError::Client(_)
        )
    }
}

/// The envelope of every Prometheus API answer; the samples are left to [`read_series`].
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Labels>,
}

#[derive(Deserialize)]
struct Labels {
    #[serde(default)]
    metric: BTreeMap<String, String>,
}

/// The request's URL: `base` + `api/v1/query_range` with the query's parameters.
pub fn request_url(q: &RangeQuery) -> Result<(url::Url, i64, i64), PrometheusError> {
    let bad = |reason: String| PrometheusError::BadUrl {
        url: q.url.clone(),
        reason,
    };
    let mut base = url::Url::parse(&q.url).map_err(|e| bad(e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(bad(format!("the scheme is `{}`", base.scheme())));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let step = q.step.as_secs() as i64;
    if step < 1 || q.step.subsec_nanos() != 0 {
        return Err(PrometheusError::BadStep {
            step: humantime::format_duration(q.step).to_string(),
        });
    }
    let points = q.range.as_secs() / step as u64 + 1;
    if points > MAX_POINTS {
        return Err(PrometheusError::TooManyPoints {
            step: humantime::format_duration(q.step).to_string(),
            points,
        });
    }
    let end = q.end - q.end.rem_euclid(step);
    let start = end - (q.range.as_secs() as i64 / step) * step;
    let mut url = base
        .join("api/v1/query_range")
        .map_err(|e| bad(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("query", &q.query)
        .append_pair("start", &start.to_string())
        .append_pair("end", &end.to_string())
        .append_pair("step", &step.to_string());
    Ok((url, start, end))
}

/// Runs the query with `http`'s headers, token and certificates, and reads its one
/// series on the `step` grid, keeping what `read` keeps.
pub async fn query_range(
    http: ClientConfig,
    q: &RangeQuery,
    read: &ReadOptions,
) -> Result<Loaded, PrometheusError> {
    let (url, start, end) = request_url(q)?;
    let shown_url = q.url.trim_end_matches('/').to_string();
    let timeout = || PrometheusError::Timeout {
        url: shown_url.clone(),
        timeout: humantime::format_duration(q.timeout).to_string(),
    };
    let config = ClientConfig {
        connect_timeout: q.timeout.min(Duration::from_secs(10)),
        read_timeout: q.timeout,
        request_timeout: q.timeout,
        // A refused connection is retried briefly; the deadline below bounds it all.
        retry: RetryPolicy {
            attempts: 3,
            ..RetryPolicy::default()
        },
        cache: None,
        ..http
    };
    let client = Client::new(config).map_err(|e| PrometheusError::Client(e.to_string()))?;
    let answer = match tokio::time::timeout(q.timeout, client.get(url.as_str())).await {
        Err(_) => return Err(timeout()),
        Ok(answer) => answer,
    };
    let body = match answer {
        Ok(response) => response.body,
        Err(gantry_http::Error::Timeout { .. }) => return Err(timeout()),
        Err(gantry_http::Error::Connect { detail, .. }) => {
            return Err(PrometheusError::Unreachable {
                url: shown_url,
                detail,
            });
        }
        Err(e @ gantry_http::Error::Status { .. }) => {
            let status = e.status().unwrap_or_default();
            let explained = e
                .body()
                .and_then(|b| serde_json::from_slice::<Envelope>(b).ok())
                .and_then(|env| env.error.map(|error| (env.error_type, error)));
            return Err(match explained {
                // 400 bad_data, 422 execution: the query's fault, in Prometheus's words.
                Some((kind, error)) if status == 400 || status == 422 => PrometheusError::Refused {
                    url: shown_url,
                    message: match kind {
                        Some(kind) => format!("{error} ({kind})"),
                        None => error,
                    },
                },
                explained => PrometheusError::Status {
                    url: shown_url,
                    status,
                    reason: explained.map(|(_, error)| error),
                },
            });
        }
        Err(gantry_http::Error::Config(message)) => return Err(PrometheusError::Client(message)),
        Err(e) => {
            return Err(PrometheusError::Unreachable {
                url: shown_url,
                detail: e.to_string(),
            });
        }
    };
    let envelope: Envelope =
        serde_json::from_slice(&body).map_err(|e| PrometheusError::NotPrometheus {
            url: shown_url.clone(),
            detail: e.to_string(),
        })?;
    let data = match envelope {
        Envelope {
            status,
            data: Some(data),
            ..
        } if status == "success" => data,
        Envelope { error, .. } => {
            return Err(PrometheusError::NotPrometheus {
                url: shown_url,
                detail: error.unwrap_or_else(|| "no `data`".into()),
            });
        }
    };
    if data.result_type != "matrix" {
        return Err(PrometheusError::NotPrometheus {
            url: shown_url,
            detail: format!("a `{}` instead of a `matrix`", data.result_type),
        });
    }
    match data.result.len() {
        0 => {
            return Err(PrometheusError::NoSeries {
                query: q.query.clone(),
                from: crate::time::format(start),
                to: crate::time::format(end),
            });
        }
        1 => {}
        count => {
            let mut shown: Vec<String> = data
                .result
                .iter()
                .take(5)
                .map(|s| label_set(&s.metric))
                .collect();
            if count > 5 {
                shown.push(format!("and {} more", count - 5));
            }
            return Err(PrometheusError::SeveralSeries {
                query: q.query.clone(),
                count,
                shown: shown.join(", "),
            });
        }
    }
    let options = ReadOptions {
        interval: Some(q.step),
        ..read.clone()
    };
    Ok(read_series(
        &body[..],
        &format!("the query `{}`", q.query),
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str, range: u64, step: u64) -> RangeQuery {
        RangeQuery {
            url: url.into(),
            query: "sum(rate(http_requests_total[5m]))".into(),
            range: Duration::from_secs(range),
            step: Duration::from_secs(step),
            end: 1_700_000_123,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_url_keeps_a_path_prefix_and_aligns_the_grid() {
        let (url, start, end) =
            request_url(&query("http://prom:9090/prometheus", 3600, 300)).unwrap();
        assert_eq!(end, 1_700_000_100);
        assert_eq!(start, end - 3600);
        assert_eq!(
            url.as_str(),
            "http://prom:9090/prometheus/api/v1/query_range?query=sum%28rate%28http_requests_total%5B5m%5D%29%29&start=1699996500&end=1700000100&step=300"
        );
        let (url, ..) = request_url(&query("https://prom/", 600, 60)).unwrap();
        assert!(url.as_str().starts_with("https://prom/api/v1/query_range?"));
    }

    #[test]
    fn refuses_what_prometheus_would_refuse_before_asking() {
        let err = request_url(&query("prom:9090", 600, 60)).unwrap_err();
        assert!(matches!(err, PrometheusError::BadUrl { .. }), "{err}");
        let err = request_url(&query("http://prom", 60 * 86_400, 300)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--range at --step 5m is 17281 points, more than the 11000 Prometheus answers per series; raise --step or shorten --range"
        );
        let mut q = query("http://prom", 600, 0);
        q.step = Duration::from_millis(1500);
        assert!(matches!(
            request_url(&q),
            Err(PrometheusError::BadStep { .. })
        ));
    }
}
