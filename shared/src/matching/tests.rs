//! Each kind of evidence alone identifies a match.

use super::*;
use crate::parse;

fn matching(reference: &str, student: &str) -> (Diagram, Diagram, Matching) {
    let r = parse(reference).unwrap();
    let s = parse(student).unwrap();
    let m = Matching::new(&Lexicon::builtin(), &r, &s);
    (r, s, m)
}

/// The student's name for the reference entity `name` and the pair's evidence.
fn entity<'a>(
    r: &Diagram,
    s: &'a Diagram,
    m: &'a Matching,
    name: &str,
) -> Option<(&'a str, &'a Match)> {
    let i = r.entities.iter().position(|e| e.name == name).unwrap();
    m.entity_matches[i]
        .as_ref()
        .map(|p| (s.entities[p.student].name.as_str(), p))
}

fn has_name_evidence(p: &Match) -> bool {
    p.evidence.iter().any(|e| matches!(e, Evidence::Name(_)))
}

#[test]
fn only_the_key() {
    let (r, s, m) = matching(
        "@startchen\nentity PERSON {\n Ssn <<key>>\n Hobby\n Shoe_size\n}\nentity BOOK {\n Isbn <<key>>\n Title\n Pages\n}\n@endchen\n",
        "@startchen\nentity Qwrt {\n Isbn <<key>>\n Blurb\n}\nentity Zyxx {\n Ssn <<key>>\n Nick\n}\n@endchen\n",
    );
    let (name, p) = entity(&r, &s, &m, "PERSON").expect("PERSON matched");
    assert_eq!(name, "Zyxx");
    assert_eq!(p.evidence, vec![Evidence::Key]);
    assert_eq!(entity(&r, &s, &m, "BOOK").unwrap().0, "Qwrt");
}

#[test]
fn only_the_neighbours() {
    let (r, s, m) = matching(
        "@startchen
entity SHOP {\n Shop_no <<key>>\n}
entity ITEM {\n Item_no <<key>>\n}
entity CLERK {\n}
entity CRATE {\n}
relationship STAFFS {\n}
STAFFS -N- CLERK
STAFFS -1- SHOP
relationship HOLDS {\n}
HOLDS -N- CRATE
HOLDS -M- ITEM
@endchen
",
        "@startchen
entity SHOP {\n Shop_no <<key>>\n}
entity ITEM {\n Item_no <<key>>\n}
entity Blorf {\n}
entity Quux {\n}
relationship Zap {\n}
Zap -N- Quux
Zap -M- ITEM
relationship Wib {\n}
Wib -N- Blorf
Wib -1- SHOP
@endchen
",
    );
    let (name, p) = entity(&r, &s, &m, "CLERK").expect("CLERK matched");
    assert_eq!(name, "Blorf");
    assert!(p.evidence.contains(&Evidence::Neighbours), "{p:?}");
    assert!(!has_name_evidence(p));
    assert!(!p.evidence.contains(&Evidence::Elimination));
    assert_eq!(entity(&r, &s, &m, "CRATE").unwrap().0, "Quux");
    // The relationships follow their participants.
    assert_eq!(m.student_relationship(&r, &s, "STAFFS"), Some("Wib"));
    assert_eq!(m.student_relationship(&r, &s, "HOLDS"), Some("Zap"));
}

#[test]
fn only_elimination() {
    let (r, s, m) = matching(
        "@startchen\nentity SHOP {\n Shop_no <<key>>\n}\nentity ITEM {\n Item_no <<key>>\n}\nentity LEDGER {\n}\n@endchen\n",
        "@startchen\nentity Shops {\n Shop_no <<key>>\n}\nentity ITEM {\n Item_no <<key>>\n}\nentity Grbl {\n}\n@endchen\n",
    );
    let (name, p) = entity(&r, &s, &m, "LEDGER").expect("LEDGER matched");
    assert_eq!(name, "Grbl");
    assert_eq!(p.evidence, vec![Evidence::Elimination]);
    assert!(p.uncertain());
    // Two left on each side: nothing to eliminate.
    let (r, s, m) = matching(
        "@startchen\nentity SHOP {\n}\nentity LEDGER {\n}\nentity ITEM {\n}\n@endchen\n",
        "@startchen\nentity SHOP {\n}\nentity Grbl {\n}\nentity Frob {\n}\n@endchen\n",
    );
    assert!(entity(&r, &s, &m, "LEDGER").is_none());
}

#[test]
fn only_the_semantic_table() {
    let (r, s, m) = matching(
        "@startchen\nentity LAWYER {\n}\nentity TRUCK {\n}\n@endchen\n",
        "@startchen\nentity Lorry {\n}\nentity Attorney {\n}\n@endchen\n",
    );
    // Neither pair is in the lexicon: only the semantic table knows them.
    let lexicon = Lexicon::builtin();
    assert_ne!(lexicon.concept("Lawyer"), lexicon.concept("Attorney"));
    let (name, p) = entity(&r, &s, &m, "LAWYER").expect("LAWYER matched");
    assert_eq!(name, "Attorney");
    assert_eq!(p.evidence, vec![Evidence::Name(NameEvidence::Semantic)]);
    assert_eq!(entity(&r, &s, &m, "TRUCK").unwrap().0, "Lorry");
}

#[test]
fn a_flattened_composite() {
    let (_, _, m) = matching(
        "@startchen\nentity PERSON {\n Ssn <<key>>\n Address {\n  Street\n  City\n }\n}\n@endchen\n",
        "@startchen\nentity Persons {\n Ssn <<key>>\n Street\n City\n}\n@endchen\n",
    );
    let address = m.attribute("PERSON", &["Address".into()]).unwrap();
    assert_eq!(address.placement, Placement::Flattened);
    assert!(address.student.is_none());
    let street = m
        .attribute("PERSON", &["Address".into(), "Street".into()])
        .unwrap();
    assert_eq!(street.placement, Placement::Flattened);
    let student = street.student.as_ref().unwrap();
    assert_eq!(
        (student.owner.as_str(), student.names.clone()),
        ("Persons", vec!["Street".to_string()])
    );
}

#[test]
fn an_attribute_on_another_owner() {
    let (_, _, m) = matching(
        "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n}\nentity PROJECT {\n Pno <<key>>\n}\nrelationship WORKS_ON {\n Hours\n}\nWORKS_ON -N- EMPLOYEE\nWORKS_ON -M- PROJECT\n@endchen\n",
        "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n Hours\n}\nentity PROJECT {\n Pno <<key>>\n}\nrelationship WORKS_ON {\n}\nWORKS_ON -N- EMPLOYEE\nWORKS_ON -M- PROJECT\n@endchen\n",
    );
    let hours = m.attribute("WORKS_ON", &["Hours".into()]).unwrap();
    assert_eq!(hours.placement, Placement::Elsewhere);
    assert_eq!(hours.student.as_ref().unwrap().owner, "EMPLOYEE");
}

#[test]
fn renamed_roles_pair_sides() {
    let (r, s, m) = matching(
        "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n}\nrelationship SUPERVISION {\n}\nSUPERVISION -(0,N)- EMPLOYEE : supervisor\nSUPERVISION -(0,1)- EMPLOYEE : supervisee\n@endchen\n",
        "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n}\nrelationship SUPERVISION {\n}\nSUPERVISION -(0,1)- EMPLOYEE : subordinate\nSUPERVISION -(0,N)- EMPLOYEE : boss\n@endchen\n",
    );
    let pairs = m.side_pairs(&r, &s, 0);
    let roles: Vec<(Option<&str>, Option<&str>)> = pairs
        .iter()
        .map(|(a, b)| (a.role.as_deref(), b.and_then(|b| b.role.as_deref())))
        .collect();
    assert_eq!(
        roles,
        vec![
            (Some("supervisor"), Some("boss")),
            (Some("supervisee"), Some("subordinate"))
        ]
    );
}

#[test]
fn a_missing_entity_is_not_matched_to_a_stranger_with_other_neighbours() {
    let (r, s, m) = matching(
        "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n}\nentity DEPARTMENT {\n Dno <<key>>\n}\nentity PROJECT {\n Pno <<key>>\n}\nrelationship CONTROLS {\n}\nCONTROLS -1- DEPARTMENT\nCONTROLS -N- PROJECT\n@endchen\n",
        "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n}\nentity PROJECT {\n Pno <<key>>\n}\n@endchen\n",
    );
    assert!(entity(&r, &s, &m, "DEPARTMENT").is_none());
    assert_eq!(entity(&r, &s, &m, "PROJECT").unwrap().0, "PROJECT");
}

#[test]
fn findings_on_an_uncertain_match_say_probably() {
    let reference = "@startchen\nentity SHOP {\n Shop_no <<key>>\n}\nentity ITEM {\n Item_no <<key>>\n}\nentity LEDGER {\n Total\n Opened\n}\n@endchen\n";
    let student = "@startchen\nentity Shops {\n Shop_no <<key>>\n}\nentity ITEM {\n Item_no <<key>>\n}\nentity Grbl {\n Opened\n}\n@endchen\n";
    let r = parse(reference).unwrap();
    let s = parse(student).unwrap();
    let findings = crate::grade::RulesGrader::default().findings(&r, &s);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].element.to_string(), "LEDGER.Total");
    assert!(
        findings[0]
            .explanation
            .ends_with("Your `Grbl` is probably LEDGER."),
        "{}",
        findings[0].explanation
    );
}

/// Every caller gets its pairs from the one matching: the focused steps, the gold trace, the
/// rules grader's findings and the inference audit's student paths name the same student
/// element for each reference element, on a diagram renamed outside the lexicon.
#[test]
fn every_caller_gets_the_same_pairs() {
    let reference = parse(
        "@startchen
entity EMPLOYEE {\n Ssn <<key>>\n Salary\n Height_cm\n}
entity PROJECT {\n Pnumber <<key>>\n Location\n}
entity LEDGER {\n}
relationship WORKS_ON {\n Hours\n}
WORKS_ON =N= EMPLOYEE
WORKS_ON =M= PROJECT
relationship KEEPS {\n}
KEEPS -1- PROJECT
KEEPS -N- LEDGER
@endchen
",
    )
    .unwrap();
    // Renamed: EMPLOYEE by the semantic table, PROJECT's key by initials, LEDGER opaquely
    // (neighbours), WORKS_ON opaquely (participants); Salary is missing, Height lost its unit.
    let student = parse(
        "@startchen
entity Worker {\n Ssn <<key>>\n Height\n}
entity PROJECT {\n PN <<key>>\n Location\n}
entity Qwix {\n}
relationship Blub {\n Hours\n}
Blub =N= Worker
Blub =M= PROJECT
relationship KEEPS {\n}
KEEPS -1- PROJECT
KEEPS -N- Qwix
@endchen
",
    )
    .unwrap();
    let lexicon = Lexicon::builtin();
    let m = Matching::new(&lexicon, &reference, &student);
    let pairs: Vec<(String, Option<String>)> = reference
        .entities
        .iter()
        .map(|e| e.name.clone())
        .chain(reference.relationships.iter().map(|r| r.name.clone()))
        .map(|name| {
            let theirs = m
                .student_path(
                    &reference,
                    &student,
                    &crate::path::ElementPath::Named(name.clone()),
                )
                .map(|p| p.to_string());
            (name, theirs)
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("EMPLOYEE".to_string(), Some("Worker".to_string())),
            ("PROJECT".to_string(), Some("PROJECT".to_string())),
            ("LEDGER".to_string(), Some("Qwix".to_string())),
            ("WORKS_ON".to_string(), Some("Blub".to_string())),
            ("KEEPS".to_string(), Some("KEEPS".to_string())),
        ]
    );
    // The focused steps.
    let steps = crate::trace::focus_steps(&lexicon, &reference, &student);
    for (name, theirs) in &pairs {
        let step = steps
            .iter()
            .find(|s| s.reference.to_string() == *name)
            .unwrap();
        assert_eq!(&step.student, theirs, "focus step {name}");
    }
    // The gold trace.
    let rules = crate::grade::RulesGrader::default().findings(&reference, &student);
    let gold = crate::trace::gold_trace(&lexicon, &reference, &student, &rules);
    for (name, theirs) in &pairs {
        let step = gold
            .steps
            .iter()
            .find(|s| s.reference.to_string() == *name)
            .unwrap();
        assert_eq!(&step.student, theirs, "gold step {name}");
    }
    // The rules grader: only the missing Salary.
    let found: Vec<String> = rules
        .iter()
        .map(|f| format!("{} {}", f.category, f.element))
        .collect();
    assert_eq!(found, vec!["missing_attribute EMPLOYEE.Salary"]);
    // The inference audit fills the student path from the same matching.
    let mut model_finding = rules[0].clone();
    model_finding.student = None;
    let checked =
        crate::audit::check_findings(&lexicon, &reference, &student, None, &[model_finding]);
    assert_eq!(checked[0].dropped, None);
    assert_eq!(checked[0].finding.student.as_deref(), Some("Worker"));
}
