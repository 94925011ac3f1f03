//! `gantry plugin ...` and plugin-provided commands.

use std::ffi::OsString;

use clap::{Args, Subcommand};

use crate::commands::Context;

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {}

pub fn run(args: PluginArgs, _ctx: &Context) -> anyhow::Result<u8> {
    match args.command {}
}

pub fn run_external(_argv: Vec<OsString>, _ctx: &Context) -> anyhow::Result<u8> {
    anyhow::bail!("plugin commands are not available yet")
}
