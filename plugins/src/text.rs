//! Text a plugin controls (manifest fields and keys, import names, hook messages, the
//! messages of a module's errors) as gantry shows it to people: every control character
//! escaped, so that a plugin can neither move the cursor, erase a line, change colours
//! nor reorder what the user reads. [`Untrusted`] is the one way every printer, in this
//! crate and in front ends, shows such text. A plugin's own stdout and stderr are its
//! output and are not filtered.

use std::fmt;

/// Untrusted text for display. Control characters (C0, DEL and C1, which include ESC
/// and CSI) and the invisible formatting characters that hide or reorder text
/// (bidirectional overrides and isolates, zero-width characters, line and paragraph
/// separators, the byte-order mark) are shown escaped: `\n`, `\r` and `\t`, others as
/// `\u{1b}`. Everything else is shown as it is.
///
/// ```
/// use gantry_plugins::Untrusted;
/// assert_eq!(Untrusted("ok\x1b[2K").to_string(), r"ok\u{1b}[2K");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str(r"\n")?,
                '\r' => f.write_str(r"\r")?,
                '\t' => f.write_str(r"\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `text` with every character [`Untrusted`] escapes escaped.
pub fn escape(text: &str) -> String {
    Untrusted(text).to_string()
}

/// Whether `c` is shown escaped: a control character, or an invisible character that
/// changes how the text around it is laid out.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'                      // Arabic letter mark
            | '\u{200b}'..='\u{200f}'       // zero-width space, joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}'       // line/paragraph separators, embeddings, overrides
            | '\u{2060}'..='\u{2069}'       // word joiner, invisible operators, isolates
            | '\u{feff}'                    // byte-order mark, zero-width no-break space
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation controls
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        for text in [
            "",
            "Load forecaster",
            "naïve — prévision 日本",
            r"C:\plugins",
        ] {
            assert_eq!(escape(text), text);
        }
    }

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(escape("a\x1b[2Kb"), r"a\u{1b}[2Kb");
        assert_eq!(escape("line\r\nnext\tcol"), r"line\r\nnext\tcol");
        assert_eq!(escape("\u{9b}31m"), r"\u{9b}31m");
        assert_eq!(escape("\x07\x00\x7f"), r"\u{7}\u{0}\u{7f}");
    }

    #[test]
    fn reordering_and_invisible_characters_are_escaped() {
        assert_eq!(escape("abc\u{202e}fed"), r"abc\u{202e}fed");
        assert_eq!(escape("\u{2066}x\u{2069}"), r"\u{2066}x\u{2069}");
        assert_eq!(escape("a\u{200b}b\u{feff}"), r"a\u{200b}b\u{feff}");
        assert_eq!(escape("p\u{2029}q"), r"p\u{2029}q");
    }

    #[test]
    fn escaped_text_has_nothing_left_to_escape() {
        let hostile: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let shown = escape(&hostile);
        assert!(!shown.contains(needs_escape), "{shown:?}");
    }
}
