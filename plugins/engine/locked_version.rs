//! Reads a package's version from a `Cargo.lock`, for the build scripts that record which
//! version of a dependency a build links (the module cache key, `gantry version`). It is
//! included by path into each of them, since a build script cannot depend on a sibling.

use std::path::Path;

/// The version of `package` locked in `lockfile`, or why it cannot be told. A lockfile
/// holding several versions of the package is ambiguous, and so an error.
pub fn locked_version(lockfile: &Path, package: &str) -> Result<String, String> {
    let shown = lockfile.display();
    let text =
        std::fs::read_to_string(lockfile).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let lock: toml::Table = text
        .parse()
        .map_err(|e| format!("{shown} is not a Cargo.lock: {e}"))?;
    let versions: Vec<&str> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(toml::Value::as_str) == Some(package))
        .filter_map(|p| p.get("version").and_then(toml::Value::as_str))
        .collect();
    match versions.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => Err(format!("{shown} locks no version of {package}")),
        several => Err(format!(
            "{shown} locks several versions of {package}: {}",
            several.join(", ")
        )),
    }
}
