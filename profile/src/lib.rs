//! pprof profiles for gantry: fetch them from a Go service (or read a file or stdin),
//! decode them in any format pprof reads (protobuf and the legacy text and binary
//! formats), and report on them the way `go tool pprof` does — `top` tables with the
//! same numbers, diffs against a base, folded stacks, flame graphs — plus goroutine leak
//! checks over time. No terminal handling here; the CLI renders and maps errors.

pub mod atomic;
pub mod decode;
mod demangle;
pub mod error;
pub mod fetch;
pub mod folded;
pub mod gzip;
mod ids;
pub mod leaks;
pub(crate) mod legacy;
mod parallel;
mod prefetch;
pub mod proto;
mod samples;
mod sniff;
mod stacks;
mod strings;
pub mod top;
pub mod units;
mod unsymbolized;

pub use decode::{Format, Profile};
pub use error::{Error, Origin, Result};
pub use fetch::{FetchOptions, ProfileType, Source};
pub use legacy::LegacyFormat;
pub use top::{TopOptions, TopReport, TopRow};
