//! go.mod and go.sum parsing: `module` (with its `// Deprecated:` comment), `go`,
//! `toolchain`, `require` (with `// indirect`), `exclude`, `replace` and `retract` (with
//! rationale), in single-line and block form, as golang.org/x/mod/modfile reads them.
//!
//! The main module's go.mod is parsed strictly (an unknown directive or a malformed
//! version is an error naming the file and line); dependencies' go.mod files are parsed
//! leniently, ignoring directives this parser does not know, as the `go` command does.

use crate::error::ParseError;
use crate::gover;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    pub path: String,
    pub version: String,
    pub indirect: bool,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub old_path: String,
    /// Empty when every version of `old_path` is replaced.
    pub old_version: String,
    pub new_path: String,
    /// Empty when the replacement is a local folder.
    pub new_version: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retract {
    pub low: String,
    pub high: String,
    pub rationale: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoMod {
    pub module: Option<String>,
    pub deprecated: Option<String>,
    pub go: Option<String>,
    pub toolchain: Option<String>,
    pub require: Vec<Require>,
    pub exclude: Vec<(String, String)>,
    pub replace: Vec<Replace>,
    pub retract: Vec<Retract>,
}

impl GoMod {
    /// Whether this module's requirements are pruned (go 1.17 or later), so that its
    /// dependents need not load its dependencies' go.mod files.
    pub fn pruned(&self) -> bool {
        self.go.as_deref().is_some_and(|go| {
            let mut parts = go.split('.');
            let major: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let minor: u64 = parts
                .next()
                .and_then(|p| {
                    p.trim_end_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .ok()
                })
                .unwrap_or(0);
            (major, minor) >= (1, 17)
        })
    }

    /// The replacement for `path@version`, if any (a version-specific one first).
    pub fn replacement(&self, path: &str, version: &str) -> Option<&Replace> {
        self.replace
            .iter()
            .rev()
            .find(|r| r.old_path == path && r.old_version == version)
            .or_else(|| {
                self.replace
                    .iter()
                    .rev()
                    .find(|r| r.old_path == path && r.old_version.is_empty())
            })
    }

    pub fn is_excluded(&self, path: &str, version: &str) -> bool {
        self.exclude.iter().any(|(p, v)| p == path && v == version)
    }
}

/// Parses a main module's go.mod, strictly.
pub fn parse_go_mod(text: &str, file: &str) -> Result<GoMod, ParseError> {
    parse(text, file, true)
}

/// Parses a dependency's go.mod, leniently.
pub fn parse_dependency_go_mod(text: &str, file: &str) -> Result<GoMod, ParseError> {
    parse(text, file, false)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Arrow,
}

/// One source line: its tokens and its trailing `//` comment.
struct Line {
    number: u32,
    tokens: Vec<Token>,
    comment: Option<String>,
}

fn lex_line(text: &str, number: u32, file: &str) -> Result<Line, ParseError> {
    let err = |message: String| ParseError::syntax(file, number, message);
    let mut tokens = Vec::new();
    let mut comment = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                comment = Some(text[i + 2..].trim().to_string());
                break;
            }
            b'(' | b')' | b'[' | b']' | b',' => {
                tokens.push(match c {
                    b'(' => Token::LParen,
                    b')' => Token::RParen,
                    b'[' => Token::LBracket,
                    b']' => Token::RBracket,
                    _ => Token::Comma,
                });
                i += 1;
            }
            b'=' if bytes.get(i + 1) == Some(&b'>') => {
                tokens.push(Token::Arrow);
                i += 2;
            }
            b'"' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => return Err(err("unterminated quoted string".into())),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            match bytes.get(j + 1) {
                                Some(&e @ (b'"' | b'\\')) => value.push(e as char),
                                Some(b'n') => value.push('\n'),
                                Some(b't') => value.push('\t'),
                                _ => return Err(err("invalid escape in quoted string".into())),
                            }
                            j += 2;
                        }
                        Some(_) => {
                            let ch = text[j..].chars().next().expect("in bounds");
                            value.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                tokens.push(Token::Word(value));
                i = j + 1;
            }
            b'`' => {
                let end = text[i + 1..]
                    .find('`')
                    .ok_or_else(|| err("unterminated raw string".into()))?;
                tokens.push(Token::Word(text[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            _ => {
                let start = i;
                while i < bytes.len() {
                    let c = bytes[i];
                    let stop = matches!(
                        c,
                        b' ' | b'\t' | b'\r' | b'(' | b')' | b'[' | b']' | b',' | b'"' | b'`'
                    ) || (c == b'/' && bytes.get(i + 1) == Some(&b'/'))
                        || (c == b'=' && bytes.get(i + 1) == Some(&b'>'));
                    if stop {
                        break;
                    }
                    i += 1;
                }
                if i == start {
                    return Err(err(format!("unexpected character {:?}", c as char)));
                }
                tokens.push(Token::Word(text[start..i].to_string()));
            }
        }
    }
    Ok(Line {
        number,
        tokens,
        comment,
    })
}

/// Comments that belong to a directive: the comment lines directly above it (since the
/// previous directive) and the comment at its end, as modfile attaches them.
#[derive(Default, Clone)]
struct Comments {
    before: Vec<String>,
    suffix: Option<String>,
}

impl Comments {
    fn is_empty(&self) -> bool {
        self.before.is_empty() && self.suffix.is_none()
    }

    /// The comment text, one line per comment line, as `parseDirectiveComment` builds it.
    fn text(&self) -> String {
        let mut lines: Vec<&str> = self.before.iter().map(String::as_str).collect();
        if let Some(suffix) = &self.suffix {
            lines.push(suffix);
        }
        lines.join("\n")
    }
}

/// The paragraph starting with `Deprecated:` in a comment, as modfile finds it.
fn deprecation(text: &str) -> Option<String> {
    let mut start = None;
    if let Some(rest) = text.strip_prefix("Deprecated:") {
        start = Some(rest);
    } else if let Some(i) = text.find("\n\nDeprecated:") {
        start = Some(&text[i + "\n\nDeprecated:".len()..]);
    }
    let rest = start?.trim_start_matches(' ');
    let end = rest.find("\n\n").unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

fn parse(text: &str, file: &str, strict: bool) -> Result<GoMod, ParseError> {
    let mut gomod = GoMod::default();
    let mut pending = Vec::<String>::new();
    // An open block: its verb, its own comments, and where it started.
    let mut block: Option<(String, Comments, u32)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let line = lex_line(raw, number, file)?;
        if line.tokens.is_empty() {
            // A blank line keeps the comments above it attached to the next directive.
            if let Some(comment) = &line.comment {
                pending.push(comment.clone());
            }
            continue;
        }
        let comments = Comments {
            before: std::mem::take(&mut pending),
            suffix: line.comment.clone(),
        };
        let words = &line.tokens;
        if let Some((verb, block_comments, _)) = &block {
            if words == &[Token::RParen] {
                block = None;
                continue;
            }
            let verb = verb.clone();
            let block_comments = block_comments.clone();
            directive(
                &mut gomod,
                &verb,
                &line.tokens,
                &comments,
                Some(&block_comments),
                line.number,
                file,
                strict,
            )?;
            continue;
        }
        let Token::Word(verb) = &words[0] else {
            return Err(ParseError::syntax(
                file,
                number,
                "expected a directive".into(),
            ));
        };
        if words.len() == 2 && words[1] == Token::LParen {
            block = Some((verb.clone(), comments, number));
            continue;
        }
        if words.len() >= 2 && words[1] == Token::LParen {
            return Err(ParseError::syntax(
                file,
                number,
                "a block's opening ( must end its line".into(),
            ));
        }
        directive(
            &mut gomod,
            verb,
            &words[1..],
            &comments,
            None,
            number,
            file,
            strict,
        )?;
    }
    if let Some((verb, _, start)) = block {
        return Err(ParseError::syntax(
            file,
            start,
            format!("{verb} block is not closed with )"),
        ));
    }
    if strict && gomod.module.is_none() {
        return Err(ParseError::invalid(file, "no module directive".into()));
    }
    Ok(gomod)
}

#[allow(clippy::too_many_arguments)]
fn directive(
    gomod: &mut GoMod,
    verb: &str,
    args: &[Token],
    comments: &Comments,
    block: Option<&Comments>,
    line: u32,
    file: &str,
    strict: bool,
) -> Result<(), ParseError> {
    let err = |message: String| ParseError::syntax(file, line, message);
    let version = |v: &str, path: &str| -> Result<String, ParseError> {
        if gover::is_valid(v) && (!strict || canonical(v)) {
            Ok(v.to_string())
        } else {
            Err(err(format!(
                "{path}: invalid version {v:?}: must be of the form v1.2.3"
            )))
        }
    };
    let words: Vec<&str> = args
        .iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    match verb {
        "module" => {
            let [path] = words[..] else {
                return Err(err("usage: module module/path".into()));
            };
            gomod.module = Some(path.to_string());
            // On a block line without comments of its own, the block's comments count.
            let own = if comments.is_empty() {
                block.cloned().unwrap_or_default()
            } else {
                comments.clone()
            };
            gomod.deprecated = deprecation(&own.text());
        }
        "go" => {
            let [v] = words[..] else {
                return Err(err("usage: go 1.23".into()));
            };
            if strict && !go_version_ok(v) {
                return Err(err(format!(
                    "invalid go version {v:?}: must match format 1.23"
                )));
            }
            gomod.go = Some(v.to_string());
        }
        "toolchain" => {
            let [name] = words[..] else {
                return Err(err("usage: toolchain go1.23.4".into()));
            };
            gomod.toolchain = Some(name.to_string());
        }
        "require" | "exclude" => {
            let [path, v] = words[..] else {
                return Err(err(format!("usage: {verb} module/path v1.2.3")));
            };
            let v = version(v, path)?;
            if verb == "require" {
                let indirect = comments
                    .suffix
                    .as_deref()
                    .is_some_and(|c| c == "indirect" || c.starts_with("indirect;"));
                gomod.require.push(Require {
                    path: path.to_string(),
                    version: v,
                    indirect,
                    line,
                });
            } else {
                gomod.exclude.push((path.to_string(), v));
            }
        }
        "replace" => {
            let arrow = args
                .iter()
                .position(|t| *t == Token::Arrow)
                .ok_or_else(|| err("replace needs =>".into()))?;
            let old: Vec<&str> = args[..arrow]
                .iter()
                .filter_map(|t| match t {
                    Token::Word(w) => Some(w.as_str()),
                    _ => None,
                })
                .collect();
            let new: Vec<&str> = args[arrow + 1..]
                .iter()
                .filter_map(|t| match t {
                    Token::Word(w) => Some(w.as_str()),
                    _ => None,
                })
                .collect();
            let (old_path, old_version) = match old[..] {
                [p] => (p, String::new()),
                [p, v] => (p, version(v, p)?),
                _ => {
                    return Err(err(
                        "usage: replace module/path [v1.2.3] => other/path [v1.4.5]".into(),
                    ));
                }
            };
            let (new_path, new_version) = match new[..] {
                [p] => {
                    if !(p.starts_with("./")
                        || p.starts_with("../")
                        || p.starts_with('/')
                        || p.contains('\\')
                        || p.starts_with('.'))
                        && strict
                    {
                        return Err(err(format!(
                            "replacement module {p} needs a version (or a ./ path for a folder)"
                        )));
                    }
                    (p, String::new())
                }
                [p, v] => (p, version(v, p)?),
                _ => {
                    return Err(err(
                        "usage: replace module/path [v1.2.3] => other/path [v1.4.5]".into(),
                    ));
                }
            };
            gomod.replace.push(Replace {
                old_path: old_path.to_string(),
                old_version,
                new_path: new_path.to_string(),
                new_version,
                line,
            });
        }
        "retract" => {
            let (low, high) = match args {
                [Token::Word(v)] => (v.as_str(), v.as_str()),
                [
                    Token::LBracket,
                    Token::Word(lo),
                    Token::Comma,
                    Token::Word(hi),
                    Token::RBracket,
                ] => (lo.as_str(), hi.as_str()),
                _ => {
                    return Err(err(
                        "usage: retract v1.2.3 or retract [v1.0.0, v1.2.3]".into()
                    ));
                }
            };
            let low = if strict {
                version(low, "retract")?
            } else {
                low.to_string()
            };
            let high = if strict {
                version(high, "retract")?
            } else {
                high.to_string()
            };
            let own = if comments.is_empty() {
                block.cloned().unwrap_or_default()
            } else {
                comments.clone()
            };
            gomod.retract.push(Retract {
                low,
                high,
                rationale: own.text(),
            });
        }
        "godebug" | "tool" | "ignore" => {}
        _ if strict => return Err(err(format!("unknown directive: {verb}"))),
        _ => {}
    }
    Ok(())
}

fn canonical(v: &str) -> bool {
    // modfile requires the full vX.Y.Z form in the main module.
    let core = v.split(['-', '+']).next().unwrap_or("");
    core.matches('.').count() == 2
}

fn go_version_ok(v: &str) -> bool {
    let mut chars = v.split('.');
    let ok_num =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let first = chars.next();
    if !ok_num(first) {
        return false;
    }
    match chars.next() {
        None => true,
        Some(second) => {
            let digits: String = second.chars().take_while(|c| c.is_ascii_digit()).collect();
            !digits.is_empty()
        }
    }
}

/// go.sum: the module versions whose content (or go.mod) hash is recorded.
pub fn parse_go_sum(text: &str, file: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [] => continue,
            [path, version, hash] if hash.starts_with("h1:") || hash.contains(':') => {
                entries.push((path.to_string(), version.to_string()));
            }
            _ => {
                return Err(ParseError::syntax(
                    file,
                    index as u32 + 1,
                    "malformed go.sum line: expected MODULE VERSION HASH".into(),
                ));
            }
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"// Deprecated: use example.com/new instead.
module example.com/old

go 1.21

toolchain go1.22.1

require (
	github.com/a/b v1.2.3
	github.com/c/d v0.0.0-20200101000000-abcdefabcdef // indirect
	"github.com/quoted/e" v2.0.0+incompatible
)

require golang.org/x/mod v0.14.0 // indirect

exclude github.com/a/b v1.2.2

replace github.com/a/b v1.2.3 => github.com/fork/b v1.2.4

replace github.com/local/x => ./x

retract (
	// Published accidentally.
	v1.0.0
	[v1.1.0, v1.1.5] // Broken build.
)

retract v0.9.0
"#;

    #[test]
    fn parses_every_directive() {
        let m = parse_go_mod(SAMPLE, "go.mod").unwrap();
        assert_eq!(m.module.as_deref(), Some("example.com/old"));
        assert_eq!(
            m.deprecated.as_deref(),
            Some("use example.com/new instead.")
        );
        assert_eq!(m.go.as_deref(), Some("1.21"));
        assert_eq!(m.toolchain.as_deref(), Some("go1.22.1"));
        assert_eq!(m.require.len(), 4);
        assert!(!m.require[0].indirect);
        assert!(m.require[1].indirect);
        assert_eq!(m.require[2].path, "github.com/quoted/e");
        assert_eq!(m.require[3].line, 14);
        assert_eq!(
            m.exclude,
            [("github.com/a/b".to_string(), "v1.2.2".to_string())]
        );
        assert_eq!(m.replace[0].new_version, "v1.2.4");
        assert_eq!(m.replace[1].new_path, "./x");
        assert!(m.replacement("github.com/local/x", "v9.9.9").is_some());
        assert_eq!(m.retract[0].rationale, "Published accidentally.");
        assert_eq!(
            (m.retract[1].low.as_str(), m.retract[1].high.as_str()),
            ("v1.1.0", "v1.1.5")
        );
        assert_eq!(m.retract[1].rationale, "Broken build.");
        assert_eq!(m.retract[2].rationale, "");
        assert!(m.pruned());
    }

    #[test]
    fn deprecation_paragraphs() {
        assert_eq!(deprecation("Deprecated: x\ny"), Some("x\ny".into()));
        assert_eq!(
            deprecation("Intro\n\nDeprecated: gone\n\nMore"),
            Some("gone".into())
        );
        assert_eq!(deprecation("Not Deprecated: x"), None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = "module m\n\nrequire (\n\tgithub.com/a/b\n)\n";
        let e = parse_go_mod(bad, "sub/go.mod").unwrap_err().to_string();
        assert!(e.starts_with("sub/go.mod:4:"), "{e}");
        let e = parse_go_mod("module m\nrequire x v1.2\n", "go.mod")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("go.mod:2:") && e.contains("v1.2.3"), "{e}");
        let e = parse_go_mod("module m\nfrobnicate x\n", "go.mod")
            .unwrap_err()
            .to_string();
        assert!(e.contains("go.mod:2: unknown directive: frobnicate"), "{e}");
        let e = parse_go_mod("module m\nrequire (\n", "go.mod")
            .unwrap_err()
            .to_string();
        assert!(e.contains("go.mod:2:") && e.contains("not closed"), "{e}");
        // Lenient parsing of a dependency's go.mod ignores what it does not know.
        assert!(parse_dependency_go_mod("module m\nfrobnicate x\n", "dep").is_ok());
    }

    #[test]
    fn go_sum_lines() {
        let sum = "github.com/a/b v1.2.3 h1:abc=\ngithub.com/a/b v1.2.3/go.mod h1:def=\n";
        assert_eq!(parse_go_sum(sum, "go.sum").unwrap().len(), 2);
        assert!(
            parse_go_sum("oops\n", "go.sum")
                .unwrap_err()
                .to_string()
                .starts_with("go.sum:1:")
        );
    }
}
