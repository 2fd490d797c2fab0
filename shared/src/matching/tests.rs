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
