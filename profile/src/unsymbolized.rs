//! How reports name frames that have no function name, which decides what a decoder
//! must keep of them.

/// How frames without a function name are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsymbolized {
    /// By their binary, `[file]`, or `<unknown>`, as pprof names them in reports by
    /// function: all of one binary's unsymbolized frames become one.
    ByBinary,
    /// By address too, as pprof names them in reports by address, so that stacks of
    /// unsymbolized frames stay apart.
    ByAddress,
}
