//! ARCHITECTURE.md stays true: every file it names exists.
//!
//! A file is a backticked word ending in a source or document extension (`focus.rs`,
//! `www/core.js`, `scripts/semantic_table/build.py`). Tables name files relative to their crate
//! or folder, so a name counts as existing when it is found below the repository root or one of
//! the source folders.

use eerd_e2e::repo_root;
use std::path::{Path, PathBuf};

const EXTENSIONS: &[&str] = &[".rs", ".js", ".mjs", ".toml", ".md", ".txt", ".html", ".py"];

/// Every folder below `dir` (and `dir`), skipping build output and dependencies.
fn folders(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir()
            && !name.starts_with('.')
            && !["target", "node_modules", "dist"].contains(&name.as_str())
        {
            folders(&path, out);
        }
    }
}

fn named_files(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.contains(' ') && EXTENSIONS.iter().any(|e| w.ends_with(e)))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_file_architecture_md_names_exists() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut bases = Vec::new();
    for top in [
        "shared", "trainer", "web", "xtask", "tests", "scripts", "static", "pipeline", "docs",
    ] {
        folders(&root.join(top), &mut bases);
    }
    bases.push(root.clone());
    let names = named_files(&text);
    assert!(names.len() > 20, "too few file names found: {names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !bases.iter().any(|b| b.join(name.as_str()).exists()))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names files that do not exist: {missing:?}"
    );
}

#[test]
fn a_missing_file_is_caught() {
    assert_eq!(
        named_files("a `web/src/trace_glue.rs` b `x y.rs` `c`"),
        vec!["web/src/trace_glue.rs"]
    );
    let root = repo_root();
    assert!(!root.join("web/src/trace_glue.rs").exists());
}
