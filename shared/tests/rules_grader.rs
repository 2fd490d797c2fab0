//! The rules grader on hand-made submissions: each mistake category found at the right
//! reference path, and harmless differences passed.

use eerd::grade::RulesGrader;
use eerd::{parse, Category};

const REFERENCE: &str = "@startchen COMPANY
entity EMPLOYEE {
  Ssn <<key>>
  Name {
    Fname
    Lname
  }
  Salary
  Age <<derived>>
}
entity DEPARTMENT {
  Dnumber <<key>>
  Locations <<multi>>
}
entity PROJECT {
  Pnumber <<key>>
  Location
}
entity DEPENDENT <<weak>> {
  Dep_name <<partial>>
}
entity ENGINEER {
}
entity SECRETARY {
}
relationship WORKS_FOR {
}
WORKS_FOR =N= EMPLOYEE
WORKS_FOR =1= DEPARTMENT
relationship WORKS_ON {
  Hours
}
WORKS_ON =M= EMPLOYEE
WORKS_ON =N= PROJECT
relationship DEPENDENTS_OF <<identifying>> {
}
DEPENDENTS_OF -1- EMPLOYEE
DEPENDENTS_OF =N= DEPENDENT
relationship SUPERVISION {
}
SUPERVISION -(0,1)- EMPLOYEE : supervisee
SUPERVISION -(0,N)- EMPLOYEE : supervisor
EMPLOYEE ->- d { ENGINEER, SECRETARY }
@endchen
";

fn grade(student: &str) -> Vec<(Category, String)> {
    let reference = parse(REFERENCE).unwrap();
    let student = parse(student).unwrap_or_else(|e| panic!("{e}"));
    let mut found: Vec<(Category, String)> = RulesGrader::default()
        .findings(&reference, &student)
        .into_iter()
        .map(|f| (f.category, f.element.to_string()))
        .collect();
    found.sort();
    found
}

fn edit(from: &str, to: &str) -> String {
    assert!(REFERENCE.contains(from), "{from:?} not in the reference");
    REFERENCE.replacen(from, to, 1)
}

fn one(category: Category, path: &str) -> Vec<(Category, String)> {
    vec![(category, path.to_string())]
}

#[test]
fn the_reference_itself_is_clean() {
    assert_eq!(grade(REFERENCE), vec![]);
}

#[test]
fn harmless_differences_pass() {
    let student = "@startchen
entity Staff_member {
  SSN <<key>>
  Salary : MONEY
  Name {
    Fname
    Lname
  }
  Age <<derived>>
}
entity \"Departments\" as DEPT {
  Dept_no <<key>>
  Locations <<multi>>
}
entity Projects {
  Pnumber <<key>>
  Location
}
entity DEPENDENT <<weak>> {
  Dep_name <<key>>
}
entity ENGINEER {
}
entity SECRETARY {
}
relationship EMPLOYS {
}
EMPLOYS -(1,1)- Staff_member
EMPLOYS -(1,N)- DEPT
relationship WORKS_ON {
  Hours
}
Projects =N= WORKS_ON
Staff_member =M= WORKS_ON
relationship DEPENDENTS_OF <<identifying>> {
}
DEPENDENTS_OF -1- Staff_member
DEPENDENTS_OF =N= DEPENDENT
relationship SUPERVISES {
}
SUPERVISES -(0,N)- Staff_member : supervisor
SUPERVISES -(0,1)- Staff_member : supervisee
Staff_member ->- d { SECRETARY, ENGINEER }
@endchen
";
    assert_eq!(grade(student), vec![]);
}

#[test]
fn each_category_is_found_at_its_path() {
    let cases = vec![
        (
            edit("entity PROJECT {\n  Pnumber <<key>>\n  Location\n}\n", "")
                .replace("relationship WORKS_ON {\n  Hours\n}\nWORKS_ON =M= EMPLOYEE\nWORKS_ON =N= PROJECT\n", ""),
            one(Category::MissingEntity, "PROJECT"),
        ),
        (
            edit("relationship WORKS_FOR {\n}\nWORKS_FOR =N= EMPLOYEE\nWORKS_FOR =1= DEPARTMENT\n", ""),
            one(Category::MissingRelationship, "WORKS_FOR"),
        ),
        (edit("  Salary\n", ""), one(Category::MissingAttribute, "EMPLOYEE.Salary")),
        (edit("    Lname\n", ""), one(Category::MissingAttribute, "EMPLOYEE.Name.Lname")),
        (edit("  Salary\n", "  Salary <<key>>\n"), one(Category::WrongKey, "EMPLOYEE")),
        (edit("  Pnumber <<key>>\n", "  Pnumber\n"), one(Category::WrongKey, "PROJECT")),
        (edit("WORKS_FOR =1= DEPARTMENT", "WORKS_FOR =N= DEPARTMENT"), one(Category::WrongCardinality, "WORKS_FOR/DEPARTMENT")),
        (
            edit("SUPERVISION -(0,1)- EMPLOYEE", "SUPERVISION -(0,N)- EMPLOYEE"),
            one(Category::WrongCardinality, "SUPERVISION/EMPLOYEE:supervisee"),
        ),
        (edit("WORKS_FOR =N= EMPLOYEE", "WORKS_FOR -N- EMPLOYEE"), one(Category::WrongParticipation, "WORKS_FOR/EMPLOYEE")),
        (
            edit("entity DEPENDENT <<weak>> {\n  Dep_name <<partial>>", "entity DEPENDENT {\n  Dep_name <<key>>")
                .replace("DEPENDENTS_OF <<identifying>>", "DEPENDENTS_OF"),
            one(Category::WeakEntity, "DEPENDENT"),
        ),
        (edit("  Locations <<multi>>\n", "  Locations\n"), one(Category::AttributeKind, "DEPARTMENT.Locations")),
        (edit("  Age <<derived>>\n", "  Age\n"), one(Category::AttributeKind, "EMPLOYEE.Age")),
        (
            edit("  Name {\n    Fname\n    Lname\n  }\n", "  Name\n"),
            one(Category::AttributeKind, "EMPLOYEE.Name"),
        ),
        (
            edit("  Hours\n", "").replace("  Salary\n", "  Salary\n  Hours\n"),
            one(Category::MisplacedAttribute, "WORKS_ON.Hours"),
        ),
        (edit("->- d {", "->- o {"), one(Category::Specialization, "EMPLOYEE>ENGINEER,SECRETARY")),
        (edit("->- d {", "=>= d {"), one(Category::Specialization, "EMPLOYEE>ENGINEER,SECRETARY")),
        (edit("WORKS_ON =N= PROJECT", "WORKS_ON =N= DEPARTMENT"), one(Category::RelationshipStructure, "WORKS_ON")),
        (
            edit("SUPERVISION -(0,1)- EMPLOYEE : supervisee\nSUPERVISION -(0,N)- EMPLOYEE : supervisor", "SUPERVISION -(0,1)- EMPLOYEE\nSUPERVISION -(0,N)- EMPLOYEE"),
            one(Category::RelationshipStructure, "SUPERVISION"),
        ),
    ];
    for (student, expected) in cases {
        assert_eq!(grade(&student), expected, "student:\n{student}");
    }
}

#[test]
fn two_mistakes_give_two_findings() {
    let student =
        edit("  Salary\n", "").replace("WORKS_FOR =1= DEPARTMENT", "WORKS_FOR =N= DEPARTMENT");
    assert_eq!(
        grade(&student),
        vec![
            (Category::MissingAttribute, "EMPLOYEE.Salary".to_string()),
            (
                Category::WrongCardinality,
                "WORKS_FOR/DEPARTMENT".to_string()
            ),
        ]
    );
}

/// The library's reference diagrams, parsed.
fn library() -> Vec<(String, eerd::Diagram)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments");
    let mut out: Vec<(String, eerd::Diagram)> = std::fs::read_dir(&dir)
        .expect("static/assignments exists")
        .flatten()
        .filter(|e| e.path().join("reference.puml").exists())
        .map(|e| {
            let text = std::fs::read_to_string(e.path().join("reference.puml")).unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                parse(&text).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 24, "the library has {} assignments", out.len());
    out
}

#[test]
fn harmless_variants_of_every_assignment_pass() {
    use eerd::lexicon::Lexicon;
    use eerd::mutate::{mutate, Harmless};
    use eerd::rng::Rng;
    let lexicon = Lexicon::builtin();
    let grader = RulesGrader::default();
    let strong = Harmless {
        rename_entity: 0.6,
        rename_relationship: 0.6,
        rename_attribute: 0.4,
        reorder: 0.8,
        restyle: 0.8,
        data_types: 0.5,
        display_names: 0.5,
        ..Harmless::default()
    };
    for (id, reference) in library() {
        for seed in 0..8 {
            let mut rng = Rng::new(seed);
            let variant = mutate(&reference, &lexicon, &mut rng, &[], &strong);
            let found = grader.findings(&reference, &variant.student);
            assert!(
                found.is_empty(),
                "{id} seed {seed}: false alarms {found:?}\n{}",
                eerd::print(&variant.student)
            );
        }
    }
}

#[test]
fn single_mistakes_are_found() {
    use eerd::lexicon::Lexicon;
    use eerd::mutate::{mutate, Harmless};
    use eerd::rng::Rng;
    let lexicon = Lexicon::builtin();
    let grader = RulesGrader::default();
    let (mut labels, mut found) = (0, 0);
    for (id, reference) in library() {
        for (k, category) in Category::ALL.into_iter().enumerate() {
            let mut rng = Rng::new(1000 + k as u64);
            let variant = mutate(
                &reference,
                &lexicon,
                &mut rng,
                &[category],
                &Harmless::default(),
            );
            let predicted = grader.findings(&reference, &variant.student);
            for label in &variant.findings {
                labels += 1;
                if predicted.iter().any(|p| p.matches(label)) {
                    found += 1;
                } else {
                    eprintln!("{id}: missed {} {}", label.category, label.element);
                }
            }
        }
    }
    assert!(labels > 200, "only {labels} mistakes were induced");
    assert!(
        found as f64 >= 0.95 * labels as f64,
        "found {found} of {labels}"
    );
}

#[test]
fn colours_and_unknown_stereotypes_change_no_grade() {
    let reference = include_str!("../../static/assignments/company/reference.puml");
    let coloured = reference
        .replace(
            "entity EMPLOYEE {",
            "entity EMPLOYEE <<red>> #lightblue;line:blue {",
        )
        .replace("  Salary\n", "  Salary <<FK>> #lime\n")
        .replace("relationship WORKS_ON {", "relationship WORKS_ON #pink {")
        .replace("WORKS_ON =N= EMPLOYEE", "WORKS_ON =N= EMPLOYEE #red")
        .replace(
            "SUPERVISION -1- EMPLOYEE : supervisor",
            "SUPERVISION -1- EMPLOYEE : supervisor #line:green",
        );
    assert_ne!(coloured, reference);
    let (parsed, warnings) = eerd::parse_with_warnings(&coloured);
    let student = parsed.unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(
        student.entities[0].color.as_deref(),
        Some("#lightblue;line:blue")
    );
    // Printed back as written, and read back the same.
    let printed = eerd::print(&student);
    assert!(printed.contains("  Salary <<FK>> #lime\n"), "{printed}");
    assert!(printed.contains("SUPERVISION -1- EMPLOYEE : supervisor #line:green\n"));
    assert_eq!(eerd::parse(&printed).unwrap(), student);
    let findings = RulesGrader::default().findings(&eerd::parse(reference).unwrap(), &student);
    assert!(findings.is_empty(), "{findings:?}");
}
