//! The user's configuration file (`--config FILE`, else `$XDG_CONFIG_HOME/gantry/config.toml`).
//! A missing default file means defaults; a missing explicit file or a malformed one is
//! a usage error naming the file.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use super::exit::{Exit, Failure};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub plugins: PluginConfig,
}

/// Limits for every plugin run. `memory_mib` and `timeout` replace what a manifest
/// asks for; flags (`--memory-mib`, `--timeout`) override them in turn.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    pub memory_mib: Option<u64>,
    #[serde(default, with = "humantime_serde_opt")]
    pub timeout: Option<std::time::Duration>,
    pub stdout_mib: Option<u64>,
    pub stderr_kib: Option<u64>,
    /// The largest plugin module gantry reads and compiles.
    pub module_mib: Option<u64>,
    /// How much memory compiling one plugin module may take.
    pub compile_mib: Option<u64>,
    /// The most disk the compiled-module cache may take.
    pub cache_mib: Option<u64>,
}

mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<std::time::Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| humantime::parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("gantry").join("config.toml"))
}

pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => match default_path() {
            Some(path) if path.exists() => path,
            _ => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::new(Exit::Usage, format!("reading {}: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| {
            let msg = e.message().to_string();
            Failure::new(Exit::Usage, format!("{}: {msg}", path.display()))
                .hint("see the Configuration section of the README for the keys gantry reads")
        })
        .context("invalid configuration")
}
