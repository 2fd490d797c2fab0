//! Helpers shared by the end-to-end tests in `tests/tests/`: where the repository's files are,
//! and a generator of random well-formed-enough diagrams.

pub mod strategies;

use std::path::{Path, PathBuf};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every `.puml` file under `dir` (recursively), sorted; the third-party conformance corpus
/// (`tests/corpus/`, tested on its own by `tests/tests/corpus.rs`) and build folders left out.
pub fn puml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                if p.file_name()
                    .is_some_and(|n| n == "target" || n == "node_modules" || n == "corpus")
                {
                    continue;
                }
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "puml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The files of the conformance corpus `tests/corpus/chen/`: real diagrams written by others
/// (sources in its `SOURCES.md`), sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/corpus/chen"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "puml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The `@startchen` sample of `../shared/eerd-format.md` (the format's own example), if present.
pub fn format_sample() -> Option<String> {
    let spec = std::fs::read_to_string(repo_root().join("../shared/eerd-format.md")).ok()?;
    let start = spec.find("\n@startchen")? + 1;
    let end = spec[start..].find("@endchen")? + start + "@endchen".len();
    Some(format!("{}\n", &spec[start..end]))
}
