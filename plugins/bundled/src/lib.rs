//! The plugins that ship inside gantry, built from `wasm-guest/` for `wasm32-wasip1`.
//!
//! All the work is in `build.rs`, which hands the list of modules it built to gantry's
//! own build script (`cli/build.rs`) through `DEP_GANTRY_BUNDLED_MODULES`; that script
//! precompiles or compresses them and embeds them. This is a crate of its own so that
//! cargo starts the guests' build, minutes long on a cold machine, as soon as the build
//! begins, beside the compile of the wasmtime that gantry's build script precompiles
//! with, instead of after it.
