//! Each well-formedness check fires on a small diagram that breaks it, at the right line, and
//! the format's sample is clean.

use eerd::{lint, parse, Severity};

fn codes(text: &str) -> Vec<(&'static str, usize, Severity)> {
    let diagram = parse(text).unwrap_or_else(|e| panic!("{e}"));
    lint(&diagram)
        .into_iter()
        .map(|d| (d.code, d.line, d.severity))
        .collect()
}

fn wrap(body: &str) -> String {
    format!("@startchen\n{body}\n@endchen\n")
}

const PAIR: &str = "entity A {\n  Id <<key>>\n}\nentity B {\n  Id <<key>>\n}\nrelationship R {\n}";

#[test]
fn clean_binary_relationship() {
    assert_eq!(codes(&wrap(&format!("{PAIR}\nR -1- A\nR -N- B"))), vec![]);
}

#[test]
fn undeclared_names_with_case_hint() {
    let text = wrap(&format!("{PAIR}\nR -1- a\nR -N- B\nX -1- B"));
    let diagnostics = lint(&parse(&text).unwrap());
    let undeclared: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == "undeclared-name")
        .collect();
    assert_eq!(undeclared.len(), 2, "{diagnostics:?}");
    assert_eq!(undeclared[0].line, 10);
    assert!(
        undeclared[0].message.contains("did you mean A"),
        "{}",
        undeclared[0].message
    );
    assert_eq!(undeclared[1].line, 12);
}

#[test]
fn link_between_two_entities() {
    let c = codes(&wrap(&format!("{PAIR}\nR -1- A\nR -N- B\nA -1- B")));
    assert!(
        c.contains(&("link-between-entities", 12, Severity::Error)),
        "{c:?}"
    );
}

#[test]
fn weak_entity_checks() {
    let text = wrap("entity O {\n  Id <<key>>\n}\nentity W <<weak>> {\n  Name\n}\nrelationship R {\n}\nR -1- O\nR =N= W");
    let c = codes(&text);
    assert!(
        c.contains(&("weak-without-identifying", 5, Severity::Error)),
        "{c:?}"
    );
    assert!(
        c.contains(&("weak-without-partial-key", 5, Severity::Error)),
        "{c:?}"
    );
    let text = wrap("entity O {\n  Id <<key>>\n}\nentity W <<weak>> {\n  Name <<partial>>\n}\nrelationship R <<identifying>> {\n}\nR -1- O\nR =N= W");
    assert_eq!(codes(&text), vec![]);
}

#[test]
fn identifying_relationship_needs_total_weak_side() {
    let text = wrap("entity O {\n  Id <<key>>\n}\nentity W <<weak>> {\n  Name <<key>>\n}\nrelationship R <<identifying>> {\n}\nR -1- O\nR -N- W");
    let c = codes(&text);
    assert!(
        c.contains(&("identifying-without-weak", 8, Severity::Error)),
        "{c:?}"
    );
}

#[test]
fn specialization_cycle_and_duplicates() {
    let text = wrap("entity A {\n}\nentity B {\n}\nentity C {\n}\nA ->- d { B }\nB ->- C\nC =>= o { A }\nA ->- d { B }");
    let c = codes(&text);
    assert!(
        c.iter()
            .any(|(code, _, s)| *code == "specialization-cycle" && *s == Severity::Error),
        "{c:?}"
    );
    assert!(
        c.contains(&("duplicate-specialization", 11, Severity::Error)),
        "{c:?}"
    );
}

#[test]
fn union_cycle() {
    let c = codes(&wrap("entity A {\n}\nentity B {\n}\nA =>= U { A, B }"));
    assert!(
        c.contains(&("specialization-cycle", 6, Severity::Error)),
        "{c:?}"
    );
}

#[test]
fn duplicate_names_and_attributes() {
    let text = wrap("entity A {\n  X\n  x\n  C {\n    P\n    P\n  }\n}\nrelationship a {\n}\nentity B {\n}\na -1- B\na -1- B");
    let c = codes(&text);
    assert!(
        c.contains(&("duplicate-attribute", 4, Severity::Error)),
        "{c:?}"
    );
    assert!(
        c.contains(&("duplicate-attribute", 7, Severity::Error)),
        "{c:?}"
    );
    assert!(
        c.contains(&("duplicate-name", 10, Severity::Error)),
        "{c:?}"
    );
}

#[test]
fn recursive_relationship_needs_roles() {
    let base = "entity E {\n  Id <<key>>\n}\nrelationship S {\n}";
    let c = codes(&wrap(&format!("{base}\nS -1- E\nS -N- E")));
    assert_eq!(
        c.iter()
            .filter(|(code, ..)| *code == "recursive-without-role")
            .count(),
        2,
        "{c:?}"
    );
    assert_eq!(
        codes(&wrap(&format!("{base}\nS -1- E : boss\nS -N- E : worker"))),
        vec![]
    );
    let c = codes(&wrap(&format!("{base}\nS -1- E : boss\nS -N- E : boss")));
    assert!(c.contains(&("duplicate-role", 8, Severity::Error)), "{c:?}");
}

#[test]
fn warnings_do_not_make_a_diagram_ill_formed() {
    let text = wrap(&format!("{PAIR}\nR =(0,N)= A"));
    let diagnostics = lint(&parse(&text).unwrap());
    assert!(diagnostics
        .iter()
        .any(|d| d.code == "contradictory-participation"));
    assert!(diagnostics.iter().any(|d| d.code == "relationship-degree"));
    assert!(!eerd::has_errors(&diagnostics), "{diagnostics:?}");
}

#[test]
fn specialization_of_a_relationship() {
    let c = codes(&wrap(&format!("{PAIR}\nR -1- A\nR -N- B\nA ->- R")));
    assert!(
        c.contains(&("specialization-of-relationship", 12, Severity::Error)),
        "{c:?}"
    );
}
