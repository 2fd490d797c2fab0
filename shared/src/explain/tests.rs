//! For each of the eleven categories, the explanation names the student's element (in the
//! student's names), what is required and what the student has.

use super::*;
use crate::lexicon::Lexicon;
use crate::parse;

const REFERENCE: &str = "@startchen
entity EMPLOYEE {\n  Ssn <<key>>\n  Salary\n  Locations <<multi>>\n}
entity DEPARTMENT {\n  Dnumber <<key>>\n  Budget\n}
entity PROJECT {\n  Pnumber <<key>>\n}
entity DEPENDENT <<weak>> {\n  Dep_name <<key>>\n}
entity ENGINEER {\n}
entity SECRETARY {\n}
relationship WORKS_FOR {\n}
WORKS_FOR =N= EMPLOYEE
WORKS_FOR -1- DEPARTMENT
relationship WORKS_ON {\n  Hours\n}
WORKS_ON =M= EMPLOYEE
WORKS_ON =N= PROJECT
relationship CONTROLS {\n}
CONTROLS -1- DEPARTMENT
CONTROLS -N- PROJECT
relationship DEPENDENTS_OF <<identifying>> {\n}
DEPENDENTS_OF -1- EMPLOYEE
DEPENDENTS_OF =N= DEPENDENT
EMPLOYEE ->- d { ENGINEER, SECRETARY }
@endchen
";

/// The student calls EMPLOYEE `Worker` and DEPARTMENT `Dept`, and makes one mistake of each
/// category that can sit in one diagram.
const STUDENT: &str = "@startchen
entity Worker {\n  Ssn\n  Salary <<key>>\n  Locations\n  Hours\n}
entity Dept {\n  Dnumber <<key>>\n}
entity PROJECT {\n  Pnumber <<key>>\n}
entity DEPENDENT {\n  Dep_name <<key>>\n}
entity ENGINEER {\n}
entity SECRETARY {\n}
relationship Employs {\n}
Employs -N- Worker
Employs -N- Dept
relationship WORKS_ON {\n}
WORKS_ON =M= Worker
WORKS_ON =N= Dept
relationship DEPENDENTS_OF {\n}
DEPENDENTS_OF -1- Worker
DEPENDENTS_OF =N= DEPENDENT
Worker ->- o { ENGINEER, SECRETARY }
@endchen
";

fn explained(student: &str, category: Category, path: &str) -> String {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(student).unwrap();
    let matching = Matching::new(&Lexicon::builtin(), &reference, &student);
    explain(
        &reference,
        &student,
        &matching,
        category,
        &path.parse().unwrap(),
    )
}

fn has(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
}

#[test]
fn wrong_key_names_both_keys() {
    let text = explained(STUDENT, Category::WrongKey, "EMPLOYEE");
    has(
        &text,
        &["the key Ssn", "your `Worker`", "marks Salary as key"],
    );
}

#[test]
fn attribute_kind_names_both_kinds() {
    let text = explained(STUDENT, Category::AttributeKind, "EMPLOYEE.Locations");
    has(
        &text,
        &["should be multivalued", "your `Locations` is simple"],
    );
}

#[test]
fn missing_attribute_names_the_owner() {
    let text = explained(STUDENT, Category::MissingAttribute, "DEPARTMENT.Budget");
    has(
        &text,
        &[
            "DEPARTMENT needs the attribute Budget",
            "your `Dept` has no such attribute",
        ],
    );
}

#[test]
fn misplaced_attribute_names_where_it_is() {
    let text = explained(STUDENT, Category::MisplacedAttribute, "WORKS_ON.Hours");
    has(&text, &["Hours describes WORKS_ON", "puts it on `Worker`"]);
}

#[test]
fn wrong_cardinality_names_both_labels() {
    let text = explained(STUDENT, Category::WrongCardinality, "WORKS_FOR/DEPARTMENT");
    has(
        &text,
        &[
            "DEPARTMENT side should be labelled 1",
            "yours is N",
            "your `Employs`",
        ],
    );
}

#[test]
fn wrong_participation_says_which_way() {
    let text = explained(STUDENT, Category::WrongParticipation, "WORKS_FOR/EMPLOYEE");
    has(
        &text,
        &[
            "EMPLOYEE takes part in WORKS_FOR totally",
            "your diagram has it partial",
        ],
    );
}

#[test]
fn weak_entity_says_weak_or_strong() {
    let text = explained(STUDENT, Category::WeakEntity, "DEPENDENT");
    has(
        &text,
        &[
            "DEPENDENT is a weak entity",
            "through DEPENDENTS_OF",
            "partial key Dep_name",
            "your `DEPENDENT` is drawn strong",
        ],
    );
}

#[test]
fn specialization_names_both_constraints() {
    let text = explained(
        STUDENT,
        Category::Specialization,
        "EMPLOYEE>ENGINEER,SECRETARY",
    );
    has(
        &text,
        &[
            "partial, disjoint into ENGINEER, SECRETARY",
            "yours is partial, overlapping",
        ],
    );
}

#[test]
fn relationship_structure_names_the_wrong_participant() {
    let text = explained(STUDENT, Category::RelationshipStructure, "WORKS_ON");
    has(
        &text,
        &[
            "WORKS_ON should join EMPLOYEE, PROJECT",
            "your `WORKS_ON` joins `Worker`, `Dept`",
        ],
    );
}

#[test]
fn missing_entity_says_where_it_would_attach() {
    let student = STUDENT
        .replace("entity PROJECT {\n  Pnumber <<key>>\n}\n", "")
        .replace("WORKS_ON =N= Dept\n", "");
    let text = explained(&student, Category::MissingEntity, "PROJECT");
    has(
        &text,
        &[
            "needs an entity type PROJECT",
            "your diagram has none",
            "CONTROLS (with your `Dept`)",
        ],
    );
}

#[test]
fn missing_relationship_names_its_participants_in_the_students_names() {
    let text = explained(STUDENT, Category::MissingRelationship, "CONTROLS");
    has(
        &text,
        &[
            "a relationship CONTROLS between `Dept`, `PROJECT`",
            "your diagram has none",
        ],
    );
}
