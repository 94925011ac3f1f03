//! One module per command. Each parses nothing itself beyond its clap struct and calls
//! into a library crate, so the logic is testable without a terminal. A command module
//! imports `crate::base` and its library crate, never another command.

pub mod completions;
pub mod deps_audit;
pub mod forecast;
pub mod generate_man;
pub mod infer;
pub mod plugin;
pub mod profile;
pub mod scale;
pub mod version;
