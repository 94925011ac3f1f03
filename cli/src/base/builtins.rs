//! The plugins embedded in the `gantry` binary and listed as built-in. `build.rs`
//! compiles them from `wasm-guest/` for `wasm32-wasip1`; its `BUNDLED` list says which.

use std::borrow::Cow;
use std::io::Read as _;

use gantry_plugins::{Host, Manifest, ManifestError, Origin, Plugin, PluginError};

/// A plugin module shipped inside the binary. Its manifest is in the module's
/// `gantry-plugin` custom section, and beside it as text for listing it without
/// unpacking the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub name: &'static str,
    pub manifest: &'static str,
    pub module: Module,
}

/// How `build.rs` shipped the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// The module; compiled on first use (through the module cache).
    Wasm(&'static [u8]),
    /// The module and its machine code for this binary's target, compiled by
    /// `build.rs` under `gantry_engine::portable_config`.
    Precompiled {
        wasm: &'static [u8],
        code: &'static [u8],
    },
    /// The module, gzip-compressed; compiled on first use into the module cache.
    Gzip(&'static [u8]),
}

impl Builtin {
    /// The module's bytes (unpacked, for a compressed one).
    pub fn wasm(&self) -> Result<Cow<'static, [u8]>, PluginError> {
        match self.module {
            Module::Wasm(wasm) | Module::Precompiled { wasm, .. } => Ok(Cow::Borrowed(wasm)),
            Module::Gzip(gz) => {
                let mut wasm = Vec::with_capacity(gz.len() * 4);
                flate2::read::GzDecoder::new(gz)
                    .read_to_end(&mut wasm)
                    .map_err(|source| PluginError::Io {
                        context: format!("unpacking the built-in plugin `{}`", self.name),
                        source,
                    })?;
                Ok(Cow::Owned(wasm))
            }
        }
    }

    pub fn manifest(&self) -> Result<Manifest, ManifestError> {
        Manifest::parse(self.manifest)
    }

    /// Whether loading it may compile it (no machine code shipped for it).
    pub fn compiles_on_first_use(&self) -> bool {
        !matches!(self.module, Module::Precompiled { .. })
    }

    /// The plugin, using the shipped machine code when this CPU can run it.
    pub fn load(&self, host: &Host) -> Result<Plugin, PluginError> {
        let origin = Origin::BuiltIn(self.name.to_string());
        match self.module {
            // SAFETY: `build.rs` wrote these bytes with `Engine::precompile_module`
            // from `wasm`, and they are part of this binary.
            Module::Precompiled { wasm, code } => unsafe {
                host.load_precompiled(wasm, code, origin)
            },
            Module::Wasm(_) | Module::Gzip(_) => host.load_bytes(&self.wasm()?, origin),
        }
    }
}

/// The built-in guest that runs any ONNX model (`gantry infer`).
pub const INFERENCE_GUEST: &str = "inference";
/// The built-in guest that forecasts load (`gantry forecast`, `scale --predict`).
pub const FORECASTER_GUEST: &str = "forecaster";

static BUILTINS: &[Builtin] = include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// Every built-in plugin, in a stable order.
pub fn all() -> &'static [Builtin] {
    BUILTINS
}

/// The built-in plugin called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|builtin| builtin.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module's `gantry-plugin` custom section, parsed as TOML.
    fn embedded_manifest(wasm: &[u8]) -> toml::Table {
        let mut manifest = None;
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::CustomSection(section) = payload.unwrap()
                && section.name() == "gantry-plugin"
            {
                assert!(manifest.is_none(), "two gantry-plugin sections");
                manifest = Some(
                    std::str::from_utf8(section.data())
                        .unwrap()
                        .parse()
                        .unwrap(),
                );
            }
        }
        manifest.expect("no gantry-plugin custom section")
    }

    #[test]
    fn every_builtin_is_a_wasi_command_carrying_its_manifest() {
        assert!(!all().is_empty());
        for builtin in all() {
            let wasm = builtin.wasm().unwrap();
            let manifest = embedded_manifest(&wasm);
            assert_eq!(manifest["name"].as_str(), Some(builtin.name));
            assert_eq!(manifest["api"].as_integer(), Some(1));
            assert_eq!(manifest, builtin.manifest.parse::<toml::Table>().unwrap());
            let exports_start = wasmparser::Parser::new(0)
                .parse_all(&wasm)
                .filter_map(Result::ok)
                .any(|payload| match payload {
                    wasmparser::Payload::ExportSection(exports) => exports
                        .into_iter()
                        .filter_map(Result::ok)
                        .any(|e| e.name == "_start"),
                    _ => false,
                });
            assert!(exports_start, "{} does not export _start", builtin.name);
        }
    }

    #[test]
    fn finds_builtins_by_name() {
        assert_eq!(find("hello").map(|b| b.name), Some("hello"));
        assert_eq!(find("no-such-plugin"), None);
    }

    /// The forecaster runs on every `gantry forecast`: its machine code ships in the
    /// binary. The ONNX runner ships compressed and compiles on first use.
    #[test]
    fn the_forecaster_is_precompiled_and_the_onnx_runner_compressed() {
        assert!(matches!(
            find("forecaster").map(|b| b.module),
            Some(Module::Precompiled { .. })
        ));
        assert!(matches!(
            find("inference").map(|b| b.module),
            Some(Module::Gzip(_))
        ));
    }
}
