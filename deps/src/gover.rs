//! Go module versions and paths: semantic version order as the `go` command defines it
//! (golang.org/x/mod/semver), pseudo-versions, `+incompatible`, major-version suffixes
//! of module paths (`/vN`, `gopkg.in/x.vN`), and the `!` case-encoding that module
//! proxies use in URLs.

use std::cmp::Ordering;

/// A parsed Go semantic version (`v1.2.3-pre+build`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Without the leading `-`; empty for releases.
    pub pre: String,
    /// Without the leading `+` (`incompatible`, for example).
    pub build: String,
}

impl GoVersion {
    /// Parses the forms `go` accepts: `vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`.
    pub fn parse(v: &str) -> Option<GoVersion> {
        let rest = v.strip_prefix('v')?;
        let (rest, build) = match rest.split_once('+') {
            Some((r, b)) => (r, b),
            None => (rest, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, p),
            None => (rest, ""),
        };
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let minor = parts.next().map(number).unwrap_or(Some(0))?;
        let patch = parts.next().map(number).unwrap_or(Some(0))?;
        if parts.next().is_some() {
            return None;
        }
        let short = core.split('.').count() < 3;
        if short && (!pre.is_empty() || !build.is_empty()) {
            return None;
        }
        if !pre.is_empty() && !identifiers_ok(pre, true) {
            return None;
        }
        if rest.ends_with('-') || v.ends_with('+') {
            return None;
        }
        if !build.is_empty() && !identifiers_ok(build, false) {
            return None;
        }
        Some(GoVersion {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            build: build.to_string(),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    pub fn is_incompatible(&self) -> bool {
        self.build == "incompatible"
    }
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

fn identifiers_ok(s: &str, no_leading_zero: bool) -> bool {
    s.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !(no_leading_zero
                && id.len() > 1
                && id.starts_with('0')
                && id.bytes().all(|b| b.is_ascii_digit()))
    })
}

pub fn is_valid(v: &str) -> bool {
    GoVersion::parse(v).is_some()
}

/// Orders two versions as `semver.Compare` does: an invalid version is below every valid
/// one, and build metadata (`+incompatible`) is ignored.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (GoVersion::parse(a), GoVersion::parse(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => (a.major, a.minor, a.patch)
            .cmp(&(b.major, b.minor, b.patch))
            .then_with(|| compare_prerelease(&a.pre, &b.pre)),
    }
}

/// Semantic-versioning precedence of pre-release strings (empty = release = highest).
pub fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xn = x.bytes().all(|c| c.is_ascii_digit());
                let yn = y.bytes().all(|c| c.is_ascii_digit());
                let order = match (xn, yn) {
                    (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

pub fn is_prerelease(v: &str) -> bool {
    GoVersion::parse(v).is_some_and(|v| v.is_prerelease())
}

/// Whether `v` is a pseudo-version (`vX.0.0-yyyymmddhhmmss-abcdefabcdef` and its
/// `vX.Y.(Z+1)-0.` / `-pre.0.` forms).
pub fn is_pseudo(v: &str) -> bool {
    pseudo_timestamp(v).is_some()
}

/// The 14-digit UTC timestamp (`yyyymmddhhmmss`) of a pseudo-version.
pub fn pseudo_timestamp(v: &str) -> Option<&str> {
    let parsed = GoVersion::parse(v)?;
    let pre = v.split_once('-')?.1;
    let pre = pre.split('+').next()?;
    // The last two dot/dash parts are the timestamp and the commit hash.
    let (head, rev) = pre.rsplit_once('-')?;
    let stamp = head.rsplit(['.', '-']).next()?;
    let ok = stamp.len() == 14
        && stamp.bytes().all(|b| b.is_ascii_digit())
        && rev.len() >= 12
        && rev.bytes().all(|b| b.is_ascii_alphanumeric())
        && parsed.is_prerelease();
    let before = &head[..head.len() - stamp.len()];
    // Three forms: "TIMESTAMP-REV" (vX.0.0), "0.TIMESTAMP-REV" (vX.Y.Z-0.), "PRE.0.TIMESTAMP-REV".
    let form_ok = before.is_empty() || before == "0." || before.ends_with(".0.");
    (ok && form_ok).then_some(stamp)
}

/// Whether `v` is newer than `current` for an upgrade, as `gover.ModCompare` orders them.
pub fn newer(v: &str, current: &str) -> bool {
    compare(v, current) == Ordering::Greater
}

/// Splits a module path into its prefix and major-version suffix:
/// `example.com/m/v2` → (`example.com/m`, `/v2`); `gopkg.in/yaml.v3` → (`gopkg.in/yaml`, `.v3`).
pub fn split_path_major(path: &str) -> (&str, &str) {
    if path.starts_with("gopkg.in/") {
        if let Some(dot) = path.rfind(".v") {
            let suffix = &path[dot..];
            let digits = suffix[2..].trim_end_matches("-unstable");
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return (&path[..dot], suffix);
            }
        }
        return (path, "");
    }
    if let Some(slash) = path.rfind("/v") {
        let digits = &path[slash + 2..];
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
            && digits != "1"
        {
            return (&path[..slash], &path[slash..]);
        }
    }
    (path, "")
}

/// Whether version `v` may belong to a module whose path has this major suffix
/// (`module.CheckPathMajor`).
pub fn fits_path_major(v: &str, path_major: &str) -> bool {
    let Some(parsed) = GoVersion::parse(v) else {
        return false;
    };
    if path_major.is_empty() {
        return parsed.major <= 1 || parsed.is_incompatible();
    }
    if parsed.is_incompatible() {
        return false;
    }
    let n = path_major
        .trim_start_matches(['/', '.'])
        .trim_start_matches('v')
        .trim_end_matches("-unstable");
    match n.parse::<u64>() {
        // gopkg.in/x.v0 holds v0 versions; gopkg.in/x.v1 and /v1 hold v1.
        Ok(n) => parsed.major == n,
        Err(_) => false,
    }
}

/// The `!`-encoding of a module path or version for proxy URLs: each upper-case letter
/// becomes `!` and its lower-case form (`github.com/Azure` → `github.com/!azure`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `major.minor` of a version, or `major` for v0/v1 +incompatible checks.
pub fn major(v: &str) -> Option<u64> {
    GoVersion::parse(v).map(|v| v.major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_semver() {
        let mut list = vec![
            "v1.0.0",
            "v1.0.0-rc.1",
            "v1.0.0-alpha",
            "v1.0.0-alpha.1",
            "v1.0.0-beta.11",
            "v1.0.0-beta.2",
            "v0.9.9",
            "v1.10.0",
            "v1.2.0",
            "v2.0.0+incompatible",
        ];
        list.sort_by(|a, b| compare(a, b));
        assert_eq!(
            list,
            [
                "v0.9.9",
                "v1.0.0-alpha",
                "v1.0.0-alpha.1",
                "v1.0.0-beta.2",
                "v1.0.0-beta.11",
                "v1.0.0-rc.1",
                "v1.0.0",
                "v1.2.0",
                "v1.10.0",
                "v2.0.0+incompatible"
            ]
        );
        assert_eq!(compare("v1.2", "v1.2.0"), Ordering::Equal);
        assert_eq!(compare("bogus", "v0.0.1"), Ordering::Less);
    }

    #[test]
    fn validity() {
        for ok in [
            "v1",
            "v1.2",
            "v1.2.3",
            "v1.2.3-pre.1+meta",
            "v2.0.0+incompatible",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "1.2.3",
            "v1.2.3.4",
            "v01.2.3",
            "v1.2-pre",
            "v1.2.3-",
            "v1.2.3-01",
            "v",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn pseudo_versions() {
        assert!(is_pseudo("v0.0.0-20191109021931-daa7c04131f5"));
        assert!(is_pseudo("v1.2.4-0.20191109021931-daa7c04131f5"));
        assert!(is_pseudo("v1.2.3-pre.0.20191109021931-daa7c04131f5"));
        assert!(is_pseudo("v2.0.0-20180818164646-67afb5ed74ec+incompatible"));
        assert_eq!(
            pseudo_timestamp("v0.0.0-20191109021931-daa7c04131f5"),
            Some("20191109021931")
        );
        assert!(!is_pseudo("v1.2.3"));
        assert!(!is_pseudo("v1.2.3-rc.1"));
    }

    #[test]
    fn path_majors() {
        assert_eq!(
            split_path_major("github.com/a/b/v2"),
            ("github.com/a/b", "/v2")
        );
        assert_eq!(split_path_major("github.com/a/b"), ("github.com/a/b", ""));
        assert_eq!(split_path_major("github.com/a/v1"), ("github.com/a/v1", ""));
        assert_eq!(
            split_path_major("gopkg.in/yaml.v3"),
            ("gopkg.in/yaml", ".v3")
        );
        assert!(fits_path_major("v1.9.0", ""));
        assert!(fits_path_major("v3.0.0+incompatible", ""));
        assert!(!fits_path_major("v2.0.0", ""));
        assert!(fits_path_major("v2.1.0", "/v2"));
        assert!(!fits_path_major("v3.0.0", "/v2"));
        assert!(fits_path_major("v3.0.1", ".v3"));
    }

    #[test]
    fn case_encoding() {
        assert_eq!(
            escape("github.com/Azure/azure-sdk-for-go"),
            "github.com/!azure/azure-sdk-for-go"
        );
        assert_eq!(
            escape("github.com/BurntSushi/toml"),
            "github.com/!burnt!sushi/toml"
        );
        assert_eq!(escape("v1.0.0-RC1"), "v1.0.0-!r!c1");
    }
}
