//! `hello`: the smallest gantry plugin, a command that greets its arguments.
//!
//! `gantry plugin run hello -- world` prints `Hello, world!`. The manifest travels inside
//! the module, in its `gantry-plugin` custom section.

use std::io::Write;
use std::process::ExitCode;

gantry_plugin_sdk::manifest!(include_str!("../plugin.toml"));

fn greeting(args: &[String]) -> String {
    if args.is_empty() {
        "Hello from a gantry plugin!".to_string()
    } else {
        format!("Hello, {}!", args.join(" "))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    match writeln!(std::io::stdout(), "{}", greeting(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hello: writing to stdout: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::greeting;

    #[test]
    fn greets_its_arguments() {
        assert_eq!(greeting(&["world".into()]), "Hello, world!");
        assert_eq!(
            greeting(&["big".into(), "world".into()]),
            "Hello, big world!"
        );
        assert_eq!(greeting(&[]), "Hello from a gantry plugin!");
    }

    #[test]
    fn manifest_version_is_the_package_version() {
        let manifest = include_str!("../plugin.toml");
        let line = format!("version = \"{}\"", env!("CARGO_PKG_VERSION"));
        assert!(
            manifest.lines().any(|l| l == line),
            "plugin.toml lacks {line}"
        );
    }
}
