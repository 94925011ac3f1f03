//! Small path helpers: glob matching of one path element (`*`, `?`), as GOPRIVATE
//! patterns and Cargo's `workspace.members` use it.

use std::path::{Path, PathBuf};

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one.
pub fn glob_element(pattern: &str, text: &str) -> bool {
    fn matches(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => (0..=t.len()).any(|i| matches(&p[1..], &t[i..])),
            Some(b'?') => !t.is_empty() && matches(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && matches(&p[1..], &t[1..]),
        }
    }
    matches(pattern.as_bytes(), text.as_bytes())
}

/// The folders under `root` that a `/`-separated glob names (`crates/*`).
pub fn expand_glob(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![root.to_path_buf()];
    for element in pattern.split('/').filter(|e| !e.is_empty() && *e != ".") {
        let mut next = Vec::new();
        for dir in &current {
            if !element.contains(['*', '?']) {
                let candidate = dir.join(element);
                if candidate.is_dir() {
                    next.push(candidate);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter(|e| glob_element(element, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect();
            found.sort();
            next.extend(found);
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_element("*.corp", "git.corp"));
        assert!(glob_element("a?c", "abc"));
        assert!(!glob_element("a?c", "ac"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("crates/one")).unwrap();
        std::fs::create_dir_all(dir.path().join("crates/two")).unwrap();
        std::fs::write(dir.path().join("crates/file"), "").unwrap();
        let found = expand_glob(dir.path(), "crates/*");
        assert_eq!(found.len(), 2);
    }
}
