//! The `eerd check` and `eerd fmt` commands as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn eerd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eerd"))
        .args(args)
        .output()
        .expect("eerd runs")
}

fn temp_file(name: &str, text: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eerd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = "@startchen\nentity A {\n  Id <<key>>\n}\nentity B {\n  Id <<key>>\n}\nrelationship R {\n}\nB -N- R\nR -1- A\n@endchen\n";

#[test]
fn check_accepts_well_formed_files() {
    let good = temp_file("good.puml", GOOD.as_bytes());
    let out = eerd(&["check", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reports_file_line_column_and_exits_1() {
    let good = temp_file("good2.puml", GOOD.as_bytes());
    let bad = temp_file(
        "bad.puml",
        b"@startchen\nentity A {\n}\nR -1- A\n@endchen\n",
    );
    let out = eerd(&["check", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "{}:4:1: error[undeclared-name]: R is not declared",
        bad.display()
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(!stdout.contains("good2.puml"), "{stdout}");
}

#[test]
fn check_json_output() {
    let bad = temp_file(
        "syntax.puml",
        b"@startchen\nentity A {\n  X <<nope\n}\n@endchen\n",
    );
    let out = eerd(&["check", "--json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &reports[0]["diagnostics"][0];
    assert_eq!(reports[0]["ok"], false);
    assert_eq!(d["line"].as_u64(), Some(3));
    assert_eq!(d["code"], "syntax");
}

#[test]
fn unknown_stereotypes_warn_and_deny_warnings_fails_on_them() {
    let file = temp_file(
        "warned.puml",
        b"@startchen\nentity A {\n  X <<key>> <<FK>>\n}\n@endchen\n",
    );
    let out = eerd(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(":3:13: warning[unknown-stereotype]: stereotype <<FK>>"),
        "{stdout}"
    );
    let strict = eerd(&["check", "--deny-warnings", file.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn check_survives_missing_and_binary_files() {
    let binary = temp_file("binary.puml", &[0xff, 0xfe, 0x00, 0x41, 0x0a, 0xc3]);
    let out = eerd(&["check", "/nonexistent/x.puml", binary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("cannot read /nonexistent/x.puml"),
        "{stdout}"
    );
    assert!(stdout.contains("not valid UTF-8"), "{stdout}");
}

#[test]
fn fmt_prints_canonical_text() {
    let file = temp_file("fmt.puml", GOOD.as_bytes());
    let out = eerd(&["fmt", file.to_str().unwrap()]);
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains("relationship R {\n}\nR -N- B\nR -1- A\n"),
        "{printed}"
    );
    let canonical = temp_file("canonical.puml", printed.as_bytes());
    assert!(eerd(&["fmt", "--check", canonical.to_str().unwrap()])
        .status
        .success());
    assert_eq!(
        eerd(&["fmt", "--check", file.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn fmt_roles_as_comments_and_errors() {
    let text = "@startchen\nentity E {\n}\nrelationship S {\n}\nS -1- E : boss\nS -N- E : worker\n@endchen\n";
    let file = temp_file("roles.puml", text.as_bytes());
    let out = eerd(&["fmt", "--roles-as-comments", file.to_str().unwrap()]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("' role: boss\nS -1- E\n"), "{printed}");
    let bad = temp_file("fmtbad.puml", b"@startchen\nentity {\n@endchen\n");
    let out = eerd(&["fmt", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fmtbad.puml:2:8: error[syntax]"));
}
