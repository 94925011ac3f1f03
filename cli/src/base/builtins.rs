//! The plugins embedded in the `gantry` binary and listed as built-in. `build.rs`
//! compiles them from `wasm-guest/` for `wasm32-wasip1`; its `BUNDLED` list says which.

use gantry_plugins::{Host, Origin, Plugin, PluginError};

/// A plugin module shipped inside the binary. Its manifest is in the module's
/// `gantry-plugin` custom section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub name: &'static str,
    pub wasm: &'static [u8],
    /// Its machine code for this binary's target, compiled by `build.rs` under
    /// `gantry_engine::portable_config`, for modules too big to compile on every
    /// first run.
    pub precompiled: Option<&'static [u8]>,
}

impl Builtin {
    /// The plugin, using the shipped machine code when this CPU can run it.
    pub fn load(&self, host: &Host) -> Result<Plugin, PluginError> {
        let origin = Origin::BuiltIn(self.name.to_string());
        match self.precompiled {
            // SAFETY: `build.rs` wrote these bytes with `Engine::precompile_module`
            // from `self.wasm`, and they are part of this binary.
            Some(code) => unsafe { host.load_precompiled(self.wasm, code, origin) },
            None => host.load_bytes(self.wasm, origin),
        }
    }
}

/// The built-in guest that runs ONNX models, the bundled forecaster's among them.
pub const INFERENCE_GUEST: &str = "inference";

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
            let manifest = embedded_manifest(builtin.wasm);
            assert_eq!(manifest["name"].as_str(), Some(builtin.name));
            assert_eq!(manifest["api"].as_integer(), Some(1));
            let exports_start = wasmparser::Parser::new(0)
                .parse_all(builtin.wasm)
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
}
