use super::*;
use crate::finding::Category;
use crate::parse;
use crate::trace::{gold_trace, parse_completion};

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

fn gold() -> Trace {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(STUDENT).unwrap();
    gold_trace(&Lexicon::builtin(), &reference, &student, &labels())
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
    let draft = "Steps:\n\
        1. entity EMPLOYEE | Worker | wrong_key EMPLOYEE.Salary\n\
        2. entity DEPARTMENT | DEPARTMENT | attribute_kind DEPARTMENT.Dnumber; wrong_key DEPARTMENT\n\
        3. relationship WORKS_FOR | Worker | ok\n\
        Findings:\n\
        - wrong_key | EMPLOYEE.Salary | - | Salary is not a key of EMPLOYEE.\n\
        - attribute_kind | DEPARTMENT.Dnumber | - | Dnumber.\n\
        - wrong_participation | WORKS_FOR/EMPLOYEE | - | Hm.\n";
    let audit = audit(draft);
    assert!(audit.is_flawed());
    let verdicts: Vec<Verdict> = audit.steps.iter().map(|s| s.verdict).collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::WrongCategory,
            Verdict::Hallucinated,
            Verdict::WrongElement
        ]
    );
    // Step 2: the kind claim is at the wrong attribute, the key claim is made up.
    let step2: Vec<Verdict> = audit.steps[1].claims.iter().map(|c| c.verdict).collect();
    assert_eq!(step2, vec![Verdict::WrongElement, Verdict::Hallucinated]);
    // Step 3: wrong student match and a missed cardinality mistake.
    assert!(!audit.steps[2].student_match);
    assert_eq!(audit.steps[2].claims[0].verdict, Verdict::Missed);
    // The final answer states a claim no step made, and omits one a step made.
    assert_eq!(audit.inconsistent.len(), 2);
    let refined = &audit.refined;
    assert!(refined.is_consistent());
    assert_eq!(refined, &gold());
}

#[test]
fn skipped_elements_are_missed_and_repeated_steps_inconsistent() {
    let draft = "Steps:\n\
        1. entity EMPLOYEE | Worker | missing_attribute EMPLOYEE.Salary\n\
        2. entity EMPLOYEE | Worker | ok\n\
        3. entity PROJECT | - | missing_entity PROJECT\n\
        Findings:\n\
        - missing_attribute | EMPLOYEE.Salary | - | Give EMPLOYEE a salary.\n\
        - missing_entity | PROJECT | - | Add PROJECT.\n";
    let audit = audit(draft);
    let verdicts: Vec<(Option<usize>, Verdict)> =
        audit.steps.iter().map(|s| (s.number, s.verdict)).collect();
    assert_eq!(
        verdicts,
        vec![
            (Some(1), Verdict::Correct),
            (Some(2), Verdict::Inconsistent),
            (Some(3), Verdict::Hallucinated),
            (None, Verdict::Missed),
            (None, Verdict::Missed),
        ]
    );
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
        .contains("| steps | 3 | 0 | 0 | 0 | 3 | 0 |"));
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
    let checked = check_findings(&Lexicon::builtin(), &reference, &student, &findings);
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
