//! Function names as pprof shows them. Before any report, pprof's symbolizer rewrites the
//! name of every function whose name is empty or equal to its system name: a mangled
//! system name (C++, or Rust in either scheme) is demangled without parameters, and a
//! name that already looks like demangled C++ loses what is between parentheses and
//! then between angle brackets. Go's generic names count as such unless they name a
//! method (`pkg.(*T[...]).M`), so `pkg.F[go.shape.func(int) bool]` shows as
//! `pkg.F[go.shape.func bool]`.

use std::borrow::Cow;
use std::fmt;

use crate::proto;
use crate::strings::StringTable;

/// Gives the profile's functions the names pprof's default demangling gives them, where
/// they differ, each added to the string table. It needs only the functions and the
/// strings, so it can run before the profile is checked; a string index out of range,
/// which the check refuses, is passed over.
pub(crate) fn simplify_names(functions: &mut [proto::Function], strings: &mut StringTable) {
    for f in functions {
        let (Some(name), Some(system)) = (strings.get(f.name), strings.get(f.system_name)) else {
            continue;
        };
        // A name that differs from the system name was demangled already.
        if !name.is_empty() && name != system {
            continue;
        }
        let shown = display_name(system);
        if shown != name {
            let shown = shown.into_owned();
            f.name = strings.push(&shown);
        }
    }
}

/// The name pprof shows for a function with this system name.
fn display_name(system: &str) -> Cow<'_, str> {
    if let Some(demangled) = demangled(system) {
        return Cow::Owned(demangled);
    }
    if looks_like_demangled_cpp(system) {
        let without_params = remove_enclosed(system, b'(', b')');
        return Cow::Owned(remove_enclosed(&without_params, b'<', b'>'));
    }
    Cow::Borrowed(system)
}

/// A mangled name demangled without its parameters, return type or hash; `None` when
/// it is not a mangled name. As pprof does, a name that fails is tried again without a
/// leading underscore, which macOS adds to every symbol.
fn demangled(system: &str) -> Option<String> {
    demangled_once(system).or_else(|| demangled_once(system.strip_prefix('_')?))
}

fn demangled_once(system: &str) -> Option<String> {
    if let Some(name) = legacy_rust(system) {
        return Some(name);
    }
    if system.starts_with("_R") {
        // `{:#}` leaves out v0's crate disambiguators; pprof's demangler prints each
        // list of generic arguments as `<>` and drops a `.` suffix.
        let unsuffixed = system.split('.').next().unwrap_or(system);
        let rust = rustc_demangle::try_demangle(unsuffixed).ok()?;
        let mut name = Bounded::default();
        fmt::Write::write_fmt(&mut name, format_args!("{rust:#}")).ok()?;
        return Some(with_empty_generic_args(&name.text));
    }
    if !system.starts_with("_Z") {
        return None;
    }
    let symbol = cpp_demangle::Symbol::new(system).ok()?;
    let options = cpp_demangle::DemangleOptions::new()
        .no_params()
        .no_return_type();
    let mut name = Bounded::default();
    symbol.structured_demangle(&mut name, &options).ok()?;
    let name = name.text;
    // pprof's demangler leaves out template arguments and ref-qualifiers too.
    let name = without_template_args(&name);
    let unqualified = name.strip_suffix(" &&").or_else(|| name.strip_suffix(" &"));
    Some(unqualified.unwrap_or(&name).to_string())
}

/// A demangled Rust path with each list of generic arguments emptied: `Vec<u8>` and
/// `f::<u8>` become `Vec<>` and `f::<>`, while a qualified path such as
/// `<[u8] as Trait>` keeps its brackets.
fn with_empty_generic_args(name: &str) -> String {
    let mut kept = String::with_capacity(name.len());
    let mut depth = 0usize;
    let mut previous = ' ';
    for c in name.chars() {
        if depth > 0 {
            match c {
                '<' => depth += 1,
                // The arrow of `fn() -> T` closes nothing.
                '>' if previous != '-' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                kept.push('>');
            }
        } else if c == '<' && (previous.is_alphanumeric() || previous == '_' || previous == ':') {
            kept.push('<');
            depth = 1;
        } else {
            kept.push(c);
        }
        previous = c;
    }
    kept
}

/// A symbol in Rust's legacy mangling, `_ZN` then length-prefixed identifiers then
/// `17h` and a 16-digit hash then `E`, read as pprof's demangler reads it: the hash
/// left out, `$..$` escapes and `..` decoded, and an underscore right after a length
/// taken as a separator that the length counts.
fn legacy_rust(system: &str) -> Option<String> {
    let mut name = system.strip_prefix("_ZN")?;
    // A suffix such as `.llvm.1234` is ignored.
    if let Some(end) = name.rfind("E.") {
        name = &name[..=end];
    }
    let body = name.strip_suffix('E')?;
    if body.len() < 20 {
        return None;
    }
    let cut = body.len() - 19;
    let (idents, hash) = (body.get(..cut)?, body.get(cut..)?);
    let digits = hash.strip_prefix("17h")?;
    let mut seen = 0u16;
    for d in digits.bytes() {
        let value = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        seen |= 1 << value;
    }
    // A real hash has varied digits.
    if seen.count_ones() < 5 {
        return None;
    }
    let mut out = String::new();
    let mut rest = idents;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut len: usize = rest[..digits].parse().ok().filter(|l| *l < 1 << 30)?;
        rest = &rest[digits..];
        if let Some(after) = rest.strip_prefix('_') {
            rest = after;
            len = len.checked_sub(1)?;
        }
        let ident = rest.get(..len)?;
        rest = &rest[len..];
        if !out.is_empty() {
            out.push_str("::");
        }
        push_rust_ident(
            &mut out,
            ident
                .strip_prefix('_')
                .filter(|i| i.starts_with('$'))
                .unwrap_or(ident),
        );
    }
    Some(out)
}

/// One identifier of a legacy Rust symbol with its escapes decoded. An escape that is
/// not one leaves the rest of the identifier as it is.
fn push_rust_ident(out: &mut String, mut ident: &str) {
    while let Some(c) = ident.chars().next() {
        if c == '$' {
            let Some((decoded, len)) = rust_escape(ident) else {
                out.push_str(ident);
                return;
            };
            out.push(decoded);
            ident = &ident[len..];
        } else if let Some(after) = ident.strip_prefix("..") {
            out.push_str("::");
            ident = after;
        } else {
            out.push(c);
            ident = &ident[c.len_utf8()..];
        }
    }
}

/// The character a `$..$` escape at the start of `ident` stands for, and its length.
fn rust_escape(ident: &str) -> Option<(char, usize)> {
    let code = &ident[1..ident[1..].find('$')? + 1];
    let decoded = match code {
        "C" => ',',
        "SP" => '@',
        "BP" => '*',
        "RF" => '&',
        "LT" => '<',
        "GT" => '>',
        "LP" => '(',
        "RP" => ')',
        _ => {
            // Two lowercase hex digits, as rustc writes them.
            let hex = code.strip_prefix('u').filter(|h| {
                h.len() == 2 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if !(b' '..0x80).contains(&byte) {
                return None;
            }
            byte as char
        }
    };
    Some((decoded, code.len() + 2))
}

/// Demangled text that stops growing at 64 KiB: a short crafted symbol can stand for
/// text exponentially longer than itself (C++ substitutions, Rust v0 back-references).
/// A name cut off there is left mangled.
#[derive(Default)]
struct Bounded {
    text: String,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.text.len() + s.len() > 64 << 10 {
            return Err(fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

/// A demangled C++ name without its template arguments. Unlike [`remove_enclosed`],
/// this knows that the angle brackets of `operator<<` and the like are part of a name.
fn without_template_args(name: &str) -> String {
    const OPERATORS: [&str; 11] = [
        "<<=", ">>=", "<=>", "->*", "<<", ">>", "<=", ">=", "->", "<", ">",
    ];
    let mut kept = String::with_capacity(name.len());
    let mut depth = 0usize;
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("operator")
            && let Some(op) = OPERATORS.iter().find(|op| after.starts_with(**op))
        {
            let token = "operator".len() + op.len();
            if depth == 0 {
                kept.push_str(&rest[..token]);
            }
            rest = &rest[token..];
            continue;
        }
        match c {
            '<' => {
                if depth == 0 {
                    // `operator<< <char>` has a space only to keep the brackets apart.
                    kept.truncate(kept.trim_end().len());
                }
                depth += 1;
            }
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => kept.push(c),
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    kept
}

/// Whether a name reads as demangled C++: it has `::`, or angle or square brackets.
/// Java constructors (`Class.<init>`) and Go methods of generic types
/// (`pkg.(*T[...]).M`) do not count.
fn looks_like_demangled_cpp(name: &str) -> bool {
    // Most names, Go's among them, have none of the characters looked for: one pass
    // tells.
    if !name
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'[' | b']' | b':'))
    {
        return false;
    }
    if name.contains(".<") || name.contains("]).") {
        return false;
    }
    name.contains("::") || name.contains(['<', '>', '[', ']'])
}

/// `name` without each outermost `open … close` run, nested ones included. A `close`
/// with no `open` before it leaves the name as it is from there on; an `open` never
/// closed is kept.
fn remove_enclosed(name: &str, open: u8, close: u8) -> String {
    let mut kept = String::with_capacity(name.len());
    let mut depth = 0usize;
    let mut run_start = 0;
    for (i, b) in name.bytes().enumerate() {
        if b == open {
            if depth == 0 {
                kept.push_str(&name[run_start..i]);
                run_start = i;
            }
            depth += 1;
        } else if b == close {
            if depth == 0 {
                // Unbalanced: keep everything from here on.
                kept.push_str(&name[run_start..]);
                return kept;
            }
            depth -= 1;
            if depth == 0 {
                run_start = i + 1;
            }
        }
    }
    kept.push_str(&name[run_start..]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbol_that_demangles_to_too_much_text_stays_mangled() {
        // `Q<T6>::m()`, where T1 is `P<int, …>` with eight arguments and each T(n) is
        // `P<T(n-1), …>` with eight: 150 bytes that demangle to 1.4 MB, as g++ mangles it.
        let symbol = "_ZN1QI1PIJS0_IJS0_IJS0_IJS0_IJS0_IJiiiiiiiiEES1_S1_S1_S1_S1_S1_S1_EES2\
                      _S2_S2_S2_S2_S2_S2_EES3_S3_S3_S3_S3_S3_S3_EES4_S4_S4_S4_S4_S4_S4_EES5_\
                      S5_S5_S5_S5_S5_S5_EEE1mEv";
        assert_eq!(display_name(symbol), symbol);
    }

    #[test]
    fn brackets_are_removed_outermost_first() {
        assert_eq!(remove_enclosed("a(b(c))d(e)f", b'(', b')'), "adf");
        assert_eq!(remove_enclosed("f(int", b'(', b')'), "f(int");
        assert_eq!(remove_enclosed("a)b(c)", b'(', b')'), "a)b(c)");
        assert_eq!(remove_enclosed("x(1)y)z(2)", b'(', b')'), "xy)z(2)");
        assert_eq!(remove_enclosed("plain", b'(', b')'), "plain");
    }

    #[test]
    fn names_shown_as_pprof_shows_them() {
        let cases = [
            ("main.main", "main.main"),
            (
                "pkg.F[go.shape.func(int) bool]",
                "pkg.F[go.shape.func bool]",
            ),
            ("pkg.(*T[go.shape.int]).M", "pkg.(*T[go.shape.int]).M"),
            ("java.lang.Object.<init>", "java.lang.Object.<init>"),
            (
                "std::vector<int>::push_back(int const&)",
                "std::vector::push_back",
            ),
            (
                "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once",
                "::call_once",
            ),
            ("_ZN3foo3barEv", "foo::bar"),
            (
                "_ZNSt6vectorIiSaIiEE9push_backERKi",
                "std::vector::push_back",
            ),
            (
                "_ZN4core3ptr13drop_in_place17h0123456789abcdefE",
                "core::ptr::drop_in_place",
            ),
            (
                "_ZStlsISt11char_traitsIcEERSt13basic_ostreamIcT_ES5_PKc",
                "std::operator<<",
            ),
            (
                "_ZNKRSt7__cxx1115basic_stringbufIcSt11char_traitsIcESaIcEE3strEv",
                "std::__cxx11::basic_stringbuf::str",
            ),
            ("_ZStanSt12_Ios_IostateS_", "std::operator&"),
            (
                "_ZN7tracing10instrument1_94_$LT$impl$u20$core..ops..drop..Drop$u20$for$u20$tracing..instrument..Instrumented$LT$T$GT$$GT$4drop17h2ec47aa2e6e3e520E",
                "tracing::instrument::::<impl core::ops::drop::Drop for tracing::instrument::Instrumented<T>>::drop",
            ),
            (
                "_ZN3foo10__CALLSITE17h0123456789abcdefE.llvm.42",
                "foo::_CALLSITE",
            ),
            ("_ZN3foo11a$u7b$$u7B$17h0123456789abcdefE", "foo::a{$u7B$"),
            (
                "_ZN3foo3bar17h0000000000000000E",
                "foo::bar::h0000000000000000",
            ),
            ("__ZN3foo3barEv", "foo::bar"),
            (
                "_RINvMsj_NtCslNYArtu3iFV_5alloc3vecINtB6_3VeclE14extend_trustedINtNtNtNtCsgEmfK2I1SDS_4core4iter8adapters3map3MapINtNtNtB17_3ops5range5RangelENCNvCsfq2Zq5gqAK1_2v04main0EEB2j_.0",
                "<alloc::vec::Vec<>>::extend_trusted::<>",
            ),
            ("_Znotmangled", "_Znotmangled"),
            // Not a character boundary where the hash would start.
            ("_ZN3fooéééééééééééééééééééE", "_ZN3fooéééééééééééééééééééE"),
        ];
        for (system, shown) in cases {
            assert_eq!(display_name(system), shown, "{system}");
        }
    }
}
