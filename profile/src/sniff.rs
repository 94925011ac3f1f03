//! Naming what bytes that are no profile look like, for a one-line refusal: an empty
//! file, an HTML page, JSON, an executable, another tool's profile format (which pprof
//! does not read either), or text in no format pprof knows.

/// What the bytes turned out to be.
pub(crate) enum Identified {
    /// Not a profile at all; the text says what it is instead ("an HTML page").
    NotProfile(String),
    /// A profile or trace in a format that neither pprof nor gantry reads.
    Unsupported {
        format: &'static str,
        hint: &'static str,
    },
}

fn not_profile(what: impl Into<String>) -> Option<Identified> {
    Some(Identified::NotProfile(what.into()))
}

fn unsupported(format: &'static str, hint: &'static str) -> Option<Identified> {
    Some(Identified::Unsupported { format, hint })
}

/// Identifies `bytes` (already gunzipped) that no profile decoder accepted. `None` for
/// binary data of no known kind.
pub(crate) fn identify(bytes: &[u8]) -> Option<Identified> {
    if bytes.is_empty() {
        return not_profile("it is empty");
    }
    if let Some(found) = by_magic(bytes) {
        return Some(found);
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let text = &bytes[start..];
    if text.is_empty() {
        return not_profile("it holds only white space");
    }
    if looks_like_json(text) {
        return json(text);
    }
    let head = &text[..text.len().min(512)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return not_profile("it is an HTML page");
    }
    if lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")) {
        return not_profile("it is an SVG image (a flame graph or call graph, not the profile)");
    }
    if lower.starts_with("<?xml") || lower.starts_with('<') {
        return not_profile("it is an XML document");
    }
    if !is_text(head) {
        return None;
    }
    let first = String::from_utf8_lossy(text.split(|&b| b == b'\n').next().unwrap_or_default())
        .trim_end()
        .to_string();
    if is_goroutine_dump(&first) {
        return unsupported(
            "a Go goroutine dump (debug=2)",
            "pprof reads goroutine profiles taken with ?debug=1 or without debug (protobuf); \
             capture one of those",
        );
    }
    if first.starts_with("Showing nodes accounting for")
        || first.starts_with("File: ")
        || first.starts_with("Type: ")
    {
        return not_profile("it is a pprof text report (`pprof -top` output), not a profile");
    }
    if looks_folded(text) {
        return unsupported(
            "folded stacks (`STACK;FRAMES COUNT` lines)",
            "folded stacks are already the input of flame graph tools such as inferno or flamegraph.pl",
        );
    }
    let shown: String = first.chars().take(60).collect();
    let ellipsis = if first.chars().count() > 60 {
        "…"
    } else {
        ""
    };
    not_profile(format!(
        "it is text in no profile format pprof reads (it starts with {shown:?}{ellipsis})"
    ))
}

fn by_magic(bytes: &[u8]) -> Option<Identified> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x1f\x8b") {
        return not_profile("it is gzip data inside gzip data; decompress it once first");
    }
    if starts(b"go 1.") && bytes.iter().take(16).any(|&b| b == 0) {
        return unsupported("a Go execution trace", "open it with `go tool trace`");
    }
    if starts(b"PERFILE2") {
        return unsupported(
            "a Linux perf.data recording",
            "convert it with perf_to_profile (github.com/google/perf_data_converter), which writes a pprof profile",
        );
    }
    if starts(b"FLR\0") {
        return unsupported(
            "a Java Flight Recorder recording",
            "convert it to pprof's format first, for example with async-profiler's jfrconv",
        );
    }
    let what = if starts(b"\x7fELF") {
        "it is an ELF executable or library; pass the profile, not the binary"
    } else if starts(&[0xcf, 0xfa, 0xed, 0xfe]) || starts(&[0xce, 0xfa, 0xed, 0xfe]) {
        "it is a Mach-O executable; pass the profile, not the binary"
    } else if starts(b"MZ") {
        "it is a Windows executable; pass the profile, not the binary"
    } else if starts(b"PK\x03\x04") {
        "it is a zip archive"
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "it is zstd-compressed; decompress it first (pprof reads gzip only)"
    } else if starts(b"BZh") && bytes.len() > 3 && bytes[3].is_ascii_digit() {
        "it is bzip2-compressed; decompress it first (pprof reads gzip only)"
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "it is xz-compressed; decompress it first (pprof reads gzip only)"
    } else if starts(b"\x89PNG") {
        "it is a PNG image"
    } else if starts(b"%PDF") {
        "it is a PDF document"
    } else {
        return None;
    };
    not_profile(what)
}

fn looks_like_json(text: &[u8]) -> bool {
    matches!(text.first(), Some(b'{' | b'['))
        && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

fn json(text: &[u8]) -> Option<Identified> {
    let head = String::from_utf8_lossy(&text[..text.len().min(4096)]);
    if head.contains("speedscope") {
        return unsupported(
            "a speedscope profile (JSON)",
            "open it in speedscope; pprof reads neither it nor its source",
        );
    }
    if head.contains("\"nodes\"")
        && (head.contains("\"timeDeltas\"") || head.contains("\"callFrame\""))
    {
        return unsupported(
            "a V8/Chrome CPU profile (.cpuprofile, JSON)",
            "open it in Chrome DevTools or speedscope",
        );
    }
    if head.contains("\"traceEvents\"") {
        return unsupported(
            "a Chrome trace (JSON trace events)",
            "open it in Perfetto or chrome://tracing",
        );
    }
    not_profile("it is JSON")
}

/// Printable UTF-8 text (tabs and line breaks allowed), judged on its first bytes; a
/// character cut at the end of `head` does not count against it.
fn is_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    valid
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

/// `goroutine 1 [running]:`, the first line of Go's `debug=2` dump.
fn is_goroutine_dump(first: &str) -> bool {
    let Some(rest) = first.strip_prefix("goroutine ") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(" [")
}

/// Lines of `frame;frame;frame COUNT`: the folded stacks of flame graph tools.
fn looks_folded(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&text[..text.len().min(4096)]);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    lines.peek().is_some()
        && lines.take(8).all(|line| {
            line.rsplit_once(' ')
                .is_some_and(|(stack, count)| !stack.is_empty() && count.parse::<f64>().is_ok())
        })
        && text.contains(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(bytes: &[u8]) -> String {
        match identify(bytes) {
            Some(Identified::NotProfile(w)) => w,
            Some(Identified::Unsupported { format, .. }) => format!("unsupported {format}"),
            None => "none".into(),
        }
    }

    #[test]
    fn names_what_is_no_profile() {
        assert_eq!(what(b""), "it is empty");
        assert!(what(b"\n<!DOCTYPE html><html>").contains("HTML"));
        assert!(what(b"{\"a\": [1, 2]}").contains("JSON"));
        assert!(what(b"goroutine 7 [running]:\nmain.main()\n").contains("debug=2"));
        assert!(what(b"main;main.f;main.g 12\nmain;main.h 3\n").contains("folded"));
        assert!(what(b"\x7fELF\x02\x01").contains("ELF"));
        assert!(what(b"hello there\n").contains("\"hello there\""));
        assert!(what(b"go 1.22 trace\0\0\0\0").contains("execution trace"));
        assert_eq!(what(&[0x00, 0xff, 0x13, 0x80]), "none");
    }
}
