//! The conformance corpus (`tests/corpus/chen/`): real `@startchen` diagrams written by others —
//! PlantUML's own tests and documentation, course notes and homework in several languages —
//! kept verbatim (sources in `SOURCES.md`).
//!
//! - Every diagram PlantUML 1.2026.8 accepts parses (warnings allowed), and the parser never
//!   panics on the others.
//! - `fmt` keeps every comment and colour, reads back to the same diagram and is idempotent.
//! - With PlantUML (as in `plantuml_render`): it accepts exactly the files not listed in
//!   [`REJECTED_BY_PLANTUML`], it accepts every `fmt` output, and each output draws the same texts
//!   (entity, relationship and attribute names, labels) and the same underlined key texts as its
//!   input.

use super::plantuml_render::{find_jar, render_svgs, unavailable};
use eerd::{parse_with_warnings, print_with, PrintOptions};
use eerd_e2e::corpus_files;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Corpus files PlantUML itself refuses (their numbers): `notation compact` (005, 007), a
/// placeholder title (023), a style rule PlantUML rejects (024), crow's-foot links (043) and
/// another tool's dialect (050, 051).
const REJECTED_BY_PLANTUML: &[&str] = &["005", "007", "023", "024", "043", "050", "051"];

/// What PlantUML cannot draw the same after `fmt`, by file number, and why: the file's
/// difference is allowed (and must still be there, so the list is kept true).
const FMT_DIFFERENCES: &[(&str, &str)] = &[];

fn number(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().chars().take(3).collect())
        .unwrap_or_default()
}

/// The colours (`#lime;line:green`) written on the lines of `text`, sorted.
fn colours(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('\''))
        .flat_map(|l| l.split_whitespace())
        .filter(|w| w.starts_with('#') && w.len() > 1)
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// The comment lines between `@startchen` and `@endchen` (`'` lines and the lines of
/// `/' … '/` blocks), trimmed and sorted; `' role:` lines are roles, not comments.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut inside, mut block) = (false, false);
    for line in text.lines().map(str::trim) {
        if line.starts_with("@startchen") {
            inside = true;
        } else if line == "@endchen" {
            inside = false;
        } else if inside && (block || line.starts_with("/'")) {
            out.push(line.to_string());
            block = !line.ends_with("'/");
        } else if inside && line.starts_with('\'') && !line[1..].trim().starts_with("role:") {
            out.push(line.to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn fmt_keeps_every_comment_and_colour() {
    let (mut coloured, mut commented) = (0, 0);
    for file in corpus_files() {
        if REJECTED_BY_PLANTUML.contains(&number(&file).as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let diagram = eerd::parse(&text).unwrap();
        let printed = eerd::print(&diagram);
        let again = eerd::parse(&printed).unwrap();
        assert_eq!(again, diagram, "{}: parse(print(d)) != d", file.display());
        assert_eq!(
            eerd::print(&again),
            printed,
            "{}: fmt is not idempotent",
            file.display()
        );
        assert_eq!(colours(&printed), colours(&text), "{}", file.display());
        assert_eq!(comments(&printed), comments(&text), "{}", file.display());
        coloured += usize::from(!colours(&text).is_empty());
        commented += usize::from(!comments(&text).is_empty());
    }
    assert!(coloured >= 1, "no corpus file has colours");
    assert!(commented >= 5, "{commented} corpus files have comments");
}

#[test]
fn every_diagram_plantuml_accepts_parses() {
    let files = corpus_files();
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let (parsed, _warnings) = parse_with_warnings(&text);
        if REJECTED_BY_PLANTUML.contains(&number(file).as_str()) {
            continue;
        }
        if let Err(errors) = parsed {
            failures.push(format!("{}:\n{errors}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `@startchen NAME` → `@startchen`, so that PlantUML names each SVG after its file.
fn unnamed(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("@startchen") {
                "@startchen"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The sorted texts of an SVG (without white space) and, sorted, those drawn underlined (keys).
fn drawn(svg: &str) -> (Vec<String>, Vec<String>) {
    let mut texts = Vec::new();
    let mut underlined = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let Some(close) = rest.find("</text>") else {
            break;
        };
        // Spacing is the printer's canonical one (`Code : String` for `Code: String`).
        let text: String = rest[open_end + 1..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if rest[..open_end].contains("text-decoration=\"underline\"") {
            underlined.push(text.clone());
        }
        texts.push(text);
        rest = &rest[close..];
    }
    texts.sort();
    underlined.sort();
    (texts, underlined)
}

/// Renders every `.puml` of `dir` into `dir/out`; the files PlantUML reported errors for.
fn render(jar: &Path, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let output = render_svgs(jar, dir);
    let mut rejected: Vec<String> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("Error line "))
        .filter_map(|l| l.split("in file: ").nth(1))
        .map(|f| number(Path::new(f.trim())))
        .collect();
    rejected.sort();
    rejected.dedup();
    rejected
}

#[test]
fn fmt_output_renders_and_draws_the_same() {
    let Some(jar) = find_jar() else {
        return unavailable("no PlantUML jar found");
    };
    if Command::new("java").arg("-version").output().is_err() {
        return unavailable("java is not installed");
    }
    let root = std::env::temp_dir().join(format!("eerd-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (inputs, outputs) = (root.join("in"), root.join("fmt"));
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&outputs).unwrap();
    let options = PrintOptions {
        roles_as_comments: true,
    };
    let mut formatted = BTreeMap::new();
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_owned();
        std::fs::write(inputs.join(&name), unnamed(&text)).unwrap();
        if let (Ok(diagram), _) = parse_with_warnings(&text) {
            if !REJECTED_BY_PLANTUML.contains(&number(&file).as_str()) {
                let printed = print_with(&diagram, options);
                std::fs::write(outputs.join(&name), unnamed(&printed)).unwrap();
                formatted.insert(number(&file), file.file_stem().unwrap().to_owned());
            }
        }
    }
    let rejected = render(&jar, &inputs);
    assert_eq!(
        rejected, REJECTED_BY_PLANTUML,
        "PlantUML rejects other corpus files than listed"
    );
    let rejected_fmt = render(&jar, &outputs);
    assert!(
        rejected_fmt.is_empty(),
        "PlantUML rejects the fmt output of {rejected_fmt:?} (files in {})",
        outputs.display()
    );
    let mut differences = Vec::new();
    for (n, stem) in &formatted {
        let svg = |dir: &Path| {
            std::fs::read_to_string(dir.join("out").join(stem).with_extension("svg"))
                .unwrap_or_default()
        };
        let (before, after) = (drawn(&svg(&inputs)), drawn(&svg(&outputs)));
        assert!(!before.0.is_empty(), "no SVG texts for {stem:?}");
        if before != after {
            differences.push(n.clone());
            if !FMT_DIFFERENCES.iter().any(|(k, _)| k == n) {
                panic!(
                    "{stem:?}: fmt output draws differently\n before: {before:?}\n after:  {after:?}"
                );
            }
        }
    }
    let listed: Vec<String> = FMT_DIFFERENCES.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(differences, listed, "FMT_DIFFERENCES is not up to date");
    let _ = std::fs::remove_dir_all(&root);
}
