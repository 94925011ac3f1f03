//! Reading text the way the Go programs that wrote (and read) legacy profiles do: lines
//! split as Go's `bufio.Scanner` splits them, Go's `strings.TrimSpace`, Go's integer
//! syntax, and hexadecimal addresses found anywhere in a line.

/// Lines split at `\n`, each without its `\r\n`/`\n` ending; a last line without an
/// ending counts, an empty input has no lines.
#[derive(Clone)]
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines { rest: bytes }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// The length of the Unicode white space character at the start of `bytes` (as Go's
/// `unicode.IsSpace` defines white space), or 0.
fn space_len(bytes: &[u8]) -> usize {
    match bytes {
        [b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ', ..] => 1,
        [0xc2, 0x85 | 0xa0, ..] => 2,
        [0xe1, 0x9a, 0x80, ..] | [0xe3, 0x80, 0x80, ..] => 3,
        [0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf, ..] | [0xe2, 0x81, 0x9f, ..] => 3,
        _ => 0,
    }
}

/// The length of the white space character that ends `bytes`, or 0.
fn space_len_back(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for width in 1..=3.min(n) {
        if space_len(&bytes[n - width..]) == width {
            return width;
        }
    }
    0
}

/// `bytes` without leading and trailing white space, as Go's `strings.TrimSpace`.
pub(crate) fn trim_space(bytes: &[u8]) -> &[u8] {
    let mut bytes = trim_start_space(bytes);
    loop {
        let n = space_len_back(bytes);
        if n == 0 {
            break;
        }
        bytes = &bytes[..bytes.len() - n];
    }
    bytes
}

fn trim_start_space(mut bytes: &[u8]) -> &[u8] {
    loop {
        let n = space_len(bytes);
        if n == 0 {
            return bytes;
        }
        bytes = &bytes[n..];
    }
}

/// Blank lines and `#` comments carry no samples.
pub(crate) fn is_space_or_comment(line: &[u8]) -> bool {
    trim_start_space(line).first().is_none_or(|&b| b == b'#')
}

/// The memory map that ends most legacy text profiles starts after one of these.
pub(crate) fn is_memory_map_sentinel(line: &[u8]) -> bool {
    contains(line, b"--- Memory map: ---") || contains(line, b"MAPPED_LIBRARIES:")
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// Every `0x` followed by lowercase hex digits in `text`, in order. `None` when one
/// does not fit in 64 bits.
pub(crate) fn hex_addresses(text: &[u8], out: &mut Vec<u64>) -> Option<()> {
    out.clear();
    // Each `0x` is found by its `x`: one search for a byte costs less than one for two.
    let mut from = 0;
    for x in memchr::memchr_iter(b'x', text) {
        if x < from + 1 || text[x - 1] != b'0' {
            continue;
        }
        let start = x + 1;
        let digits = text[start..]
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            .count();
        if digits > 0 {
            out.push(parse_digits(&text[start..start + digits], 16)?);
            from = start + digits;
        }
    }
    Some(())
}

fn digit_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'z' => Some(u64::from(b - b'a') + 10),
        b'A'..=b'Z' => Some(u64::from(b - b'A') + 10),
        _ => None,
    }
}

/// Digits (and, when `underscores`, separating `_`) in `base`, without sign or prefix;
/// `None` when empty, malformed or over 64 bits.
fn parse_digits_with(digits: &[u8], base: u64, underscores: bool) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if b == b'_' && underscores {
            continue;
        }
        let d = digit_value(b).filter(|&d| d < base)?;
        value = value.checked_mul(base)?.checked_add(d)?;
    }
    Some(value)
}

/// Go's `strconv.ParseUint(s, base, 64)` for a base other than 0.
pub(crate) fn parse_digits(digits: &[u8], base: u64) -> Option<u64> {
    parse_digits_with(digits, base, false)
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
pub(crate) fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = split_sign(text);
    signed(negative, parse_digits(digits, 10)?)
}

fn split_sign(text: &[u8]) -> (bool, &[u8]) {
    match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    }
}

fn signed(negative: bool, magnitude: u64) -> Option<i64> {
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: the base comes from a `0x`, `0o`, `0b` or `0`
/// prefix, and `_` may separate digits.
pub(crate) fn parse_u64_auto(text: &[u8]) -> Option<u64> {
    if !underscores_ok(text) {
        return None;
    }
    let lower = |b: u8| b.to_ascii_lowercase();
    match text {
        [b'0', p, rest @ ..] if lower(*p) == b'x' => parse_digits_with(rest, 16, true),
        [b'0', p, rest @ ..] if lower(*p) == b'o' => parse_digits_with(rest, 8, true),
        [b'0', p, rest @ ..] if lower(*p) == b'b' => parse_digits_with(rest, 2, true),
        [b'0', rest @ ..] if !rest.is_empty() => parse_digits_with(rest, 8, true),
        _ => parse_digits_with(text, 10, true),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_i64_auto(text: &[u8]) -> Option<i64> {
    let (negative, rest) = split_sign(text);
    signed(negative, parse_u64_auto(rest)?)
}

/// Go's rule for `_` in numbers with an automatic base: only between digits, or between
/// the base prefix and a digit.
fn underscores_ok(text: &[u8]) -> bool {
    let (_, mut s) = split_sign(text);
    let mut hex = false;
    // What came last: the start, a digit (or prefix), an underscore, or anything else.
    #[derive(PartialEq)]
    enum Last {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let mut last = Last::Start;
    if let [b'0', p, rest @ ..] = s
        && matches!(p.to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        hex = p.eq_ignore_ascii_case(&b'x');
        last = Last::Digit;
        s = rest;
    }
    for &b in s {
        if b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()) {
            last = Last::Digit;
        } else if b == b'_' {
            if last != Last::Digit {
                return false;
            }
            last = Last::Underscore;
        } else if last == Last::Underscore {
            return false;
        } else {
            last = Last::Other;
        }
    }
    last != Last::Underscore
}

/// The last element of a slash-separated path, as Go's `filepath.Base` gives it.
pub(crate) fn base_name(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// What `{head}([ x0-9a-f]*)` matches in `line`, found without running the regex over
/// the addresses, which can make up most of a long line: the captures of `head`, and
/// the addresses. `head` must end with `@` and match no other `@`, so a match ends at
/// the first `@` after its start, and trying `head` on each run of the line up to an
/// `@` finds the leftmost match.
pub(crate) fn captures_then_addresses<'l>(
    head: &regex::bytes::Regex,
    line: &'l [u8],
) -> Option<(regex::bytes::Captures<'l>, &'l [u8])> {
    let mut from = 0;
    for at in memchr::memchr_iter(b'@', line) {
        if let Some(captures) = head.captures(&line[from..=at]) {
            let rest = &line[at + 1..];
            let run = rest
                .iter()
                .take_while(|b| matches!(b, b' ' | b'x' | b'0'..=b'9' | b'a'..=b'f'))
                .count();
            return Some((captures, &rest[..run]));
        }
        from = at + 1;
    }
    None
}

/// Capture group `i` of a match, empty when it did not take part (as Go gives it).
pub(crate) fn group<'a>(captures: &regex::bytes::Captures<'a>, i: usize) -> &'a [u8] {
    captures.get(i).map_or(&b""[..], |m| m.as_bytes())
}

pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_bufio_scanner() {
        let all = |s: &str| -> Vec<String> { Lines::new(s.as_bytes()).map(lossy).collect() };
        assert_eq!(all(""), Vec::<String>::new());
        assert_eq!(all("a"), ["a"]);
        assert_eq!(all("a\r\nb\n"), ["a", "b"]);
        assert_eq!(all("a\n\n"), ["a", ""]);
        assert_eq!(all("\r\r\n"), ["\r"]);
    }

    #[test]
    fn trims_unicode_space() {
        assert_eq!(trim_space(b" \t\x0bx y\r\n"), b"x y");
        assert_eq!(trim_space("\u{a0}x\u{3000}".as_bytes()), b"x");
        assert_eq!(trim_space("x\u{2029}".as_bytes()), b"x");
        assert_eq!(trim_space(b"   "), b"");
    }

    #[test]
    fn numbers_parse_as_go_parses_them() {
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"1_0"), None);
        assert_eq!(parse_i64_auto(b"010"), Some(8));
        assert_eq!(parse_i64_auto(b"08"), None);
        assert_eq!(parse_i64_auto(b"0x1F"), Some(31));
        assert_eq!(parse_i64_auto(b"1_000"), Some(1000));
        assert_eq!(parse_i64_auto(b"0x_1"), Some(1));
        assert_eq!(parse_i64_auto(b"1__0"), None);
        assert_eq!(parse_i64_auto(b"_1"), None);
        assert_eq!(parse_i64_auto(b"1_"), None);
        assert_eq!(parse_i64_auto(b"0"), Some(0));
        assert_eq!(parse_i64_auto(b""), None);
        assert_eq!(parse_u64_auto(b"0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_digits(b"0x10", 16), None);
    }

    #[test]
    fn hex_addresses_anywhere() {
        let mut out = Vec::new();
        hex_addresses(b" 0x1a 0X2 0x 0x0x3 zz0xff", &mut out).unwrap();
        assert_eq!(out, [0x1a, 0, 0xff]);
        assert!(hex_addresses(b"0x10000000000000000", &mut out).is_none());
    }

    #[test]
    fn captures_then_addresses_as_the_whole_regex() {
        let head = regex::bytes::Regex::new(r"(?-u)([0-9]+) *([0-9]+) @").unwrap();
        let whole = regex::bytes::Regex::new(r"(?-u)([0-9]+) *([0-9]+) @([ x0-9a-f]*)").unwrap();
        for line in [
            &b"12 3 @ 0x1 0x2"[..],
            b"x@ 1 2 @ 0xa 0xb zz 0xc",
            b"1 2 @",
            b"1 2@ 3 4 @ 0x5",
            b"@@ 7 8 @ 0x9@",
            b"no match @ here",
            b"",
        ] {
            let expected = whole.captures(line).map(|c| {
                (
                    lossy(group(&c, 1)),
                    lossy(group(&c, 2)),
                    lossy(group(&c, 3)),
                )
            });
            let found = captures_then_addresses(&head, line)
                .map(|(c, a)| (lossy(group(&c, 1)), lossy(group(&c, 2)), lossy(a)));
            assert_eq!(found, expected, "{}", lossy(line));
        }
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name("/usr/lib/libc.so.6"), "libc.so.6");
        assert_eq!(base_name("dir/"), "dir");
        assert_eq!(base_name("/"), "/");
        assert_eq!(base_name(""), ".");
        assert_eq!(base_name("[vdso]"), "[vdso]");
    }
}
