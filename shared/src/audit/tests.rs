use super::*;
use crate::finding::Category;
use crate::parse;
use crate::trace::{focus_steps, focus_trace, gold_trace, parse_completion, step_header};

const REFERENCE: &str = "@startchen\n\
    entity EMPLOYEE {\n  Ssn <<key>>\n  Salary\n}\n\
    entity DEPARTMENT {\n  Dnumber <<key>>\n  Locations <<multivalued>>\n}\n\
    relationship WORKS_FOR {\n}\n\
    WORKS_FOR =N= EMPLOYEE\n\
    WORKS_FOR -1- DEPARTMENT\n\
    @endchen\n";

const STUDENT: &str = "@startchen\n\
    entity Worker {\n  Ssn <<key>>\n}\n\
    entity DEPARTMENT {\n  Dnumber <<key>>\n  Locations\n}\n\
    relationship Works_in {\n}\n\
    Works_in =N= Worker\n\
    Works_in -N- DEPARTMENT\n\
    @endchen\n";

fn label(category: Category, path: &str, explanation: &str) -> Finding {
    Finding {
        category,
        element: path.parse().unwrap(),
        student: None,
        explanation: explanation.into(),
        requirement: None,
    }
}

fn labels() -> Vec<Finding> {
    vec![
        label(
            Category::MissingAttribute,
            "EMPLOYEE.Salary",
            "Add Salary to EMPLOYEE.",
        ),
        label(
            Category::AttributeKind,
            "DEPARTMENT.Locations",
            "Locations is multivalued.",
        ),
        label(
            Category::WrongCardinality,
            "WORKS_FOR/DEPARTMENT",
            "Each employee works for one department.",
        ),
    ]
}

fn audit(text: &str) -> DraftAudit {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(STUDENT).unwrap();
    audit_draft(
        &Lexicon::builtin(),
        &reference,
        &student,
        &labels(),
        &parse_completion(text),
    )
}

/// The true focused trace: nine steps (EMPLOYEE, .Ssn, .Salary, DEPARTMENT, .Dnumber,
/// .Locations, WORKS_FOR, its EMPLOYEE side, its DEPARTMENT side).
fn gold() -> Trace {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(STUDENT).unwrap();
    let lexicon = Lexicon::builtin();
    focus_trace(
        &focus_steps(&lexicon, &reference, &student),
        &gold_trace(&lexicon, &reference, &student, &labels()),
    )
}

/// A draft of the focused steps with these verdicts (the first steps only when there are
/// fewer), then `findings`.
fn draft(verdicts: &[&str], findings: &str) -> String {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(STUDENT).unwrap();
    let steps = focus_steps(&Lexicon::builtin(), &reference, &student);
    let mut out = String::from("Steps:\n");
    for (i, (step, verdict)) in steps.iter().zip(verdicts).enumerate() {
        out.push_str(&step_header(i + 1, step));
        out.push_str(verdict);
        out.push('\n');
    }
    out + findings
}

#[test]
fn the_true_trace_passes_the_audit() {
    let audit = audit(&gold().render());
    assert!(!audit.is_flawed(), "{audit:#?}");
    assert!(audit.steps.iter().all(|s| s.verdict == Verdict::Correct));
    assert_eq!(audit.refined, gold());
}

#[test]
fn each_kind_of_flaw_gets_its_verdict_and_is_refined_away() {
    let text = draft(
        &[
            "ok",
            "ok",
            "attribute_kind EMPLOYEE.Salary",
            "wrong_key DEPARTMENT",
            "ok",
            "attribute_kind DEPARTMENT.Dnumber",
            "ok",
            "ok",
            "ok",
        ],
        "Findings:\n\
         - attribute_kind | EMPLOYEE.Salary | - | Salary.\n\
         - wrong_key | DEPARTMENT | - | The key of DEPARTMENT.\n\
         - wrong_participation | WORKS_FOR/EMPLOYEE | - | Hm.\n",
    )
    // Step 7 names the wrong student element.
    .replace(
        "7. relationship WORKS_FOR | Works_in |",
        "7. relationship WORKS_FOR | Worker |",
    );
    let audit = audit(&text);
    assert!(audit.is_flawed());
    let verdicts: Vec<Verdict> = audit.steps.iter().map(|s| s.verdict).collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::Correct,
            Verdict::Correct,
            Verdict::WrongCategory,
            Verdict::Hallucinated,
            Verdict::Correct,
            Verdict::WrongElement,
            Verdict::WrongElement,
            Verdict::Correct,
            Verdict::Missed,
        ]
    );
    // Step 6: the right category at an attribute the step is not about.
    let step6: Vec<Verdict> = audit.steps[5].claims.iter().map(|c| c.verdict).collect();
    assert_eq!(step6, vec![Verdict::WrongElement]);
    // Step 7: wrong student match; step 9: a missed cardinality mistake.
    assert!(!audit.steps[6].student_match);
    assert_eq!(audit.steps[8].claims[0].verdict, Verdict::Missed);
    // The final answer states a claim no step made, and omits one a step made.
    assert_eq!(audit.inconsistent.len(), 2);
    let refined = &audit.refined;
    assert!(refined.is_consistent());
    assert_eq!(refined, &gold());
}

#[test]
fn skipped_elements_are_missed_and_repeated_steps_inconsistent() {
    let text = draft(
        &["ok", "ok", "missing_attribute EMPLOYEE.Salary"],
        "4. attribute EMPLOYEE.Salary | - | ok\n\
         5. entity PROJECT | - | missing_entity PROJECT\n\
         Findings:\n\
         - missing_attribute | EMPLOYEE.Salary | - | Give EMPLOYEE a salary.\n\
         - missing_entity | PROJECT | - | Add PROJECT.\n",
    );
    let audit = audit(&text);
    let verdicts: Vec<(Option<usize>, Verdict)> =
        audit.steps.iter().map(|s| (s.number, s.verdict)).collect();
    let mut expected = vec![
        (Some(1), Verdict::Correct),
        (Some(2), Verdict::Correct),
        (Some(3), Verdict::Correct),
        (Some(4), Verdict::Inconsistent),
        (Some(5), Verdict::Hallucinated),
    ];
    expected.extend([(None, Verdict::Missed); 6]);
    assert_eq!(verdicts, expected);
    // A correct finding whose explanation names the element keeps it in the refined trace.
    assert_eq!(
        audit.refined.findings[0].explanation,
        "Give EMPLOYEE a salary."
    );
}

#[test]
fn explanations_that_do_not_name_the_element_are_replaced() {
    let mut text = gold().render();
    text = text.replace("Add Salary to EMPLOYEE.", "Add it.");
    let audit = audit(&text);
    assert_eq!(audit.weak_explanations, 1);
    assert!(audit.is_flawed());
    assert_eq!(audit.refined, gold());
}

#[test]
fn report_counts_verdicts() {
    let mut report = AuditReport::default();
    report.add(&audit(&gold().render()));
    report.add(&audit("Steps:\n1. entity EMPLOYEE | Worker | ok\n"));
    assert_eq!(report.drafts, 2);
    assert_eq!(report.flawed, 1);
    assert_eq!(report.malformed, 1);
    let json = report.to_json();
    assert_eq!(json["findings_total"]["correct"], 3);
    assert_eq!(json["findings_total"]["missed"], 3);
    assert!(report
        .markdown()
        .contains("| steps | 10 | 0 | 0 | 0 | 8 | 0 | 0 |"));
}

#[test]
fn a_step_with_a_malformed_verdict_is_malformed_not_missed() {
    let rendered = gold().render();
    let first = rendered.lines().nth(1).unwrap();
    let (header, _) = first.rsplit_once(" | ").unwrap();
    let text = rendered.replacen(first, &format!("{header} | The student is right."), 1);
    let audit = audit(&text);
    assert!(audit.is_flawed());
    let malformed: Vec<&str> = audit
        .steps
        .iter()
        .filter(|s| s.verdict == Verdict::Malformed)
        .map(|s| s.reference.as_str())
        .collect();
    assert_eq!(malformed, ["EMPLOYEE"]);
    assert!(audit.steps.iter().all(|s| s.verdict != Verdict::Missed));
    assert_eq!(audit.refined, gold());
}

#[test]
fn inference_check_drops_refuted_findings_and_keeps_true_ones() {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(STUDENT).unwrap();
    let mut findings = labels();
    findings.push(label(
        Category::MissingEntity,
        "DEPARTMENT",
        "Add DEPARTMENT.",
    ));
    findings.push(label(
        Category::MissingAttribute,
        "EMPLOYEE.Ssn",
        "Add Ssn.",
    ));
    findings.push(label(Category::WrongKey, "DEPARTMENT", "Key."));
    findings.push(label(Category::MissingEntity, "PROJECT", "Add PROJECT."));
    findings.push(label(Category::AttributeKind, "EMPLOYEE.Ssn", "Ssn kind."));
    findings.push(labels()[0].clone());
    let mut bad_student = labels()[2].clone();
    bad_student.student = Some("Works_in/NOPE".into());
    findings.push(bad_student);
    let checked = check_findings(&Lexicon::builtin(), &reference, &student, None, &findings);
    let kept: Vec<bool> = checked.iter().map(|c| c.dropped.is_none()).collect();
    assert_eq!(
        kept,
        vec![true, true, true, false, false, false, false, false, false, false]
    );
    assert!(checked[3].dropped.as_ref().unwrap().contains("DEPARTMENT"));
    assert!(checked[6]
        .dropped
        .as_ref()
        .unwrap()
        .contains("not in the reference"));
    assert!(checked[8].dropped.as_ref().unwrap().contains("repeats"));
    assert!(checked[9]
        .dropped
        .as_ref()
        .unwrap()
        .contains("student's diagram"));
}

#[test]
fn inference_check_drops_claims_on_steps_that_read_alike() {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(STUDENT).unwrap();
    let findings = vec![
        label(Category::WrongParticipation, "WORKS_FOR/EMPLOYEE", "Total."),
        label(Category::WrongCardinality, "WORKS_FOR/EMPLOYEE", "N."),
        label(Category::RelationshipStructure, "WORKS_FOR", "Degree."),
        label(Category::WrongKey, "EMPLOYEE", "Key."),
        label(Category::WrongCardinality, "WORKS_FOR/DEPARTMENT", "1."),
        label(
            Category::AttributeKind,
            "DEPARTMENT.Locations",
            "Multivalued.",
        ),
    ];
    let checked = check_findings(&Lexicon::builtin(), &reference, &student, None, &findings);
    let dropped: Vec<Option<&str>> = checked.iter().map(|c| c.dropped.as_deref()).collect();
    assert_eq!(
        dropped,
        vec![
            Some("contradicted: the student's WORKS_FOR/EMPLOYEE reads as the reference's"),
            Some("contradicted: the student's WORKS_FOR/EMPLOYEE reads as the reference's"),
            Some("contradicted: the student's WORKS_FOR reads as the reference's"),
            Some("contradicted: Worker has the same keys"),
            None,
            None,
        ]
    );
}
