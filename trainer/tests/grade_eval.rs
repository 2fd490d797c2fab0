//! `eerd grade` and `eerd eval` as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn eerd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eerd"))
        .args(args)
        .output()
        .expect("eerd runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eerd-grade-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const REFERENCE: &str = "@startchen\nentity EMPLOYEE {\n  Ssn <<key>>\n  Salary\n}\nentity DEPARTMENT {\n  Number <<key>>\n}\nrelationship WORKS_FOR {\n}\nWORKS_FOR =N= EMPLOYEE\nWORKS_FOR =1= DEPARTMENT\n@endchen\n";

fn student_without_salary() -> String {
    REFERENCE.replace("  Salary\n", "")
}

#[test]
fn grade_one_file_human_and_json() {
    let dir = temp_dir("one");
    let reference = dir.join("ref.puml");
    let student = dir.join("stu.puml");
    std::fs::write(&reference, REFERENCE).unwrap();
    std::fs::write(&student, student_without_salary()).unwrap();
    let out = eerd(&[
        "grade",
        "--reference",
        reference.to_str().unwrap(),
        "--student",
        student.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("missing_attribute at EMPLOYEE.Salary"),
        "{text}"
    );
    let out = eerd(&[
        "grade",
        "--json",
        "--reference",
        reference.to_str().unwrap(),
        "--student",
        student.to_str().unwrap(),
    ]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["findings"][0]["category"], "missing_attribute");
    assert_eq!(value["findings"][0]["element"], "EMPLOYEE.Salary");
}

#[test]
fn grade_a_folder_as_csv_and_report_unparsable_files() {
    let dir = temp_dir("folder");
    let reference = dir.join("ref.puml");
    std::fs::write(&reference, REFERENCE).unwrap();
    // Requirements beside the reference: each finding cites its sentence (last CSV column).
    std::fs::write(
        dir.join("requirements.md"),
        "# T\n\n1. Each employee has a unique number and a salary.\n",
    )
    .unwrap();
    let subs = dir.join("subs");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(subs.join("alice.puml"), REFERENCE).unwrap();
    std::fs::write(subs.join("bob.puml"), student_without_salary()).unwrap();
    std::fs::write(subs.join("carol.puml"), "@startchen\nentity {\n@endchen\n").unwrap();
    let out = eerd(&[
        "grade",
        "--csv",
        "--reference",
        reference.to_str().unwrap(),
        "--student",
        subs.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a file that does not parse fails the run"
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "file,category,element,student,explanation,requirement"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains("bob.puml,missing_attribute,EMPLOYEE.Salary"),
        "{csv}"
    );
    assert!(
        lines[1].ends_with(",Each employee has a unique number and a salary."),
        "{csv}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("carol.puml:2:8"));
}

#[test]
fn eval_scores_a_jsonl_file() {
    let dir = temp_dir("eval");
    let data = dir.join("data.jsonl");
    let record = |id: &str, student: &str, findings: serde_json::Value| {
        serde_json::json!({"id": id, "assignment": "t", "reference": REFERENCE, "student": student, "findings": findings}).to_string()
    };
    let lines = [
        record(
            "t-1",
            &student_without_salary(),
            serde_json::json!([{"category": "missing_attribute", "element": "EMPLOYEE.Salary", "explanation": "x"}]),
        ),
        record("t-2", REFERENCE, serde_json::json!([])),
        record(
            "t-3",
            REFERENCE,
            serde_json::json!([{"category": "wrong_key", "element": "EMPLOYEE", "explanation": "x"}]),
        ),
    ];
    std::fs::write(&data, lines.join("\n")).unwrap();
    let out = eerd(&[
        "eval",
        "--json",
        "--data",
        data.to_str().unwrap(),
        "--grader",
        "rules",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 3);
    assert_eq!(v["micro"]["precision"], 1.0);
    assert_eq!(v["micro"]["recall"], 0.5);
    assert_eq!(v["false_alarm_rate"], 0.0);
    assert_eq!(v["hallucination_rate"], 0.0);
    assert_eq!(v["per_category"]["wrong_key"]["support"], 1);
    assert!(v.get("macro").is_some());
}

#[test]
fn eval_names_the_bad_line_and_field() {
    let dir = temp_dir("bad");
    let data = dir.join("bad.jsonl");
    let good = serde_json::json!({"id": "a", "assignment": "t", "reference": REFERENCE, "student": REFERENCE, "findings": []}).to_string();
    let bad_diagram = serde_json::json!({"id": "b", "assignment": "t", "reference": REFERENCE, "student": "@startchen\nX\n@endchen", "findings": []}).to_string();
    std::fs::write(&data, format!("{good}\n{bad_diagram}\n")).unwrap();
    let out = eerd(&["eval", "--data", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl:2: field `student`"), "{stderr}");
    std::fs::write(&data, format!("{good}\n{{\"id\": 3}}\n")).unwrap();
    let stderr = String::from_utf8_lossy(&eerd(&["eval", "--data", data.to_str().unwrap()]).stderr)
        .into_owned();
    assert!(
        stderr.contains("bad.jsonl:2: not a valid record"),
        "{stderr}"
    );
    let out = eerd(&[
        "eval",
        "--data",
        data.to_str().unwrap(),
        "--grader",
        "oracle",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown grader 'oracle'"));
}
