//! Tests of the mutation engine: every operator on the format sample and on every reference of
//! the assignment library yields a parseable, lint-clean (but for the mistake) student diagram
//! whose findings resolve in the reference; harmless variations keep the meaning.

use super::*;
use crate::model::{Cardinality, Disjointness};
use crate::print;
use crate::semantics::side_constraints;
use std::collections::BTreeSet;
use std::path::Path;

/// The sample of `eerd-format.md`, plus a ternary relationship.
pub(crate) const SAMPLE: &str = r#"@startchen COMPANY
entity EMPLOYEE {
  Ssn : TEXT <<key>>
  Name {
    Fname
    Minit
    Lname
  }
  Salary
  Age <<derived>>
}
entity DEPARTMENT {
  Number <<key>>
  Name <<key>>
  Locations <<multi>>
}
entity "Dependent of employee" as DEPENDENT <<weak>> {
  Name <<partial>>
  Birth_date
}
entity ENGINEER {
  Eng_type
}
entity SECRETARY {
  Typing_speed
}
entity MANAGER {
}
entity PERSON {
  Ssn <<key>>
}
entity BANK {
  Code <<key>>
}
entity OWNER {
}
entity SUPPLIER {
  Sname <<key>>
}
entity PART {
  Part_no <<key>>
}
entity PROJECT {
  Pnumber <<key>>
  Location
}
relationship WORKS_FOR {
}
WORKS_FOR =N= EMPLOYEE
WORKS_FOR =1= DEPARTMENT
relationship MANAGES {
  Start_date
}
MANAGES -1- EMPLOYEE
MANAGES =1= DEPARTMENT
relationship DEPENDENTS_OF <<identifying>> {
}
DEPENDENTS_OF -1- EMPLOYEE
DEPENDENTS_OF =N= DEPENDENT
relationship SUPERVISION {
}
SUPERVISION -(0,1)- EMPLOYEE : supervisee
SUPERVISION -(0,N)- EMPLOYEE : supervisor
relationship SUPPLY {
  Quantity
}
SUPPLY -N- SUPPLIER
SUPPLY -N- PART
SUPPLY -1- PROJECT
relationship WORKS_ON {
  Hours
}
WORKS_ON =(1,N)= EMPLOYEE
WORKS_ON =(1,N)= PROJECT
EMPLOYEE ->- d { ENGINEER, SECRETARY }
MANAGER -<- EMPLOYEE
OWNER =>= U { PERSON, BANK }
@endchen
"#;

fn sample() -> Diagram {
    crate::parse(SAMPLE).expect("the sample parses")
}

/// The library's reference diagrams (assignment id, diagram), if the repository has them.
fn library() -> Vec<(String, Diagram)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p.join("reference.puml")).ok()?;
            let d = crate::parse(&text).ok()?;
            Some((p.file_name()?.to_string_lossy().to_string(), d))
        })
        .collect()
}

fn all_references() -> Vec<(String, Diagram)> {
    let mut out = vec![("sample".to_string(), sample())];
    out.extend(library());
    out
}

/// Print, scramble, verify; panics with the context on failure.
fn check(name: &str, reference: &Diagram, mutation: &Mutation, rng: &mut Rng) {
    let text = scramble_text(&print(&mutation.student), rng, &Scramble::default());
    if let Err(e) = verify(reference, mutation, &text) {
        panic!("{name}: {e}\nfindings: {:#?}\n{text}", mutation.findings);
    }
}

/// One mistake of one category, no harmless variation.
fn one(reference: &Diagram, category: Category, seed: u64) -> Option<Mutation> {
    let lexicon = Lexicon::builtin();
    let mut rng = Rng::new(seed);
    let mut m = Mutator::new(reference, &lexicon);
    if !m.apply(category, &mut rng) {
        return None;
    }
    Some(m.finish(&mut rng, &Harmless::none()))
}

/// A comparable summary of what a diagram means, names normalized by the lexicon and every
/// order and label style factored out.
fn meaning(lex: &Lexicon, d: &Diagram) -> BTreeSet<String> {
    let c = |n: &str| lex.concept(n);
    fn attrs(lex: &Lexicon, list: &[Attribute]) -> String {
        let mut items: Vec<String> = list
            .iter()
            .map(|a| {
                format!(
                    "{}:{:?}:{}:{}({})",
                    lex.concept(&a.name),
                    a.key,
                    a.multivalued,
                    a.derived,
                    attrs(lex, &a.parts)
                )
            })
            .collect();
        items.sort();
        items.join(",")
    }
    let mut out = BTreeSet::new();
    for e in &d.entities {
        out.insert(format!(
            "E {} {} [{}]",
            c(&e.name),
            e.weak,
            attrs(lex, &e.attributes)
        ));
    }
    for r in &d.relationships {
        let mut sides: Vec<String> = side_constraints(d, &r.name)
            .into_iter()
            .map(|(l, s)| {
                format!(
                    "{}:{:?}:{}:{:?}",
                    c(&l.entity),
                    l.role.as_deref().map(str::to_lowercase),
                    s.min,
                    s.max.or(Some(
                        s.ratio
                            .map(|m| if m { None } else { Some(1) })
                            .unwrap_or(None)
                    ))
                )
            })
            .collect();
        sides.sort();
        out.insert(format!(
            "R {} {} [{}] {}",
            c(&r.name),
            r.identifying,
            attrs(lex, &r.attributes),
            sides.join(";")
        ));
    }
    for s in &d.specializations {
        let mut subs: Vec<String> = s.subclasses.iter().map(|x| c(x)).collect();
        subs.sort();
        out.insert(format!(
            "S {} {:?} {} {}",
            c(&s.superclass),
            s.disjointness,
            s.total,
            subs.join(",")
        ));
    }
    for u in &d.unions {
        let mut sups: Vec<String> = u.superclasses.iter().map(|x| c(x)).collect();
        sups.sort();
        out.insert(format!(
            "U {} {} {}",
            c(&u.category),
            u.total,
            sups.join(",")
        ));
    }
    out
}

#[test]
fn the_sample_allows_every_category() {
    let lexicon = Lexicon::builtin();
    assert_eq!(applicable(&sample(), &lexicon), Category::ALL.to_vec());
}

#[test]
fn every_operator_on_every_reference_verifies() {
    let lexicon = Lexicon::builtin();
    for (name, reference) in all_references() {
        let before = meaning(&lexicon, &reference);
        for category in Category::ALL {
            for (i, op) in operators(category).iter().enumerate() {
                for seed in 0..2 {
                    let mut rng = Rng::new(seed);
                    let mut m = Mutator::new(&reference, &lexicon);
                    if !op(&mut m, &mut rng) {
                        break;
                    }
                    let mutation = m.finish(&mut rng, &Harmless::default());
                    assert_eq!(mutation.findings.len(), 1);
                    assert_eq!(mutation.findings[0].category, category);
                    assert_ne!(
                        meaning(&lexicon, &mutation.student),
                        before,
                        "{name} {category} #{i}: the mistake changed nothing"
                    );
                    check(
                        &format!("{name} {category} #{i}"),
                        &reference,
                        &mutation,
                        &mut rng,
                    );
                }
            }
        }
    }
}

#[test]
fn several_mistakes_stay_disjoint_and_verify() {
    let lexicon = Lexicon::builtin();
    for (name, reference) in all_references() {
        let cats = applicable(&reference, &lexicon);
        for seed in 0..15 {
            let mut rng = Rng::new(seed);
            let picks: Vec<Category> = (0..3).map(|_| *rng.choose(&cats).unwrap()).collect();
            let mutation = mutate(&reference, &lexicon, &mut rng, &picks, &Harmless::default());
            assert!(!mutation.findings.is_empty(), "{name}");
            check(
                &format!("{name} seed {seed} {picks:?}"),
                &reference,
                &mutation,
                &mut rng,
            );
        }
    }
}

#[test]
fn harmless_variations_keep_the_meaning() {
    let lexicon = Lexicon::builtin();
    let strong = Harmless {
        rename_entity: 0.8,
        rename_relationship: 0.8,
        rename_attribute: 0.8,
        reorder: 0.8,
        restyle: 0.8,
        data_types: 0.8,
        display_names: 0.8,
        open_renames: 0.0,
        vocabulary: Vocabulary::Seen,
    };
    for (name, reference) in all_references() {
        let mut differs = 0;
        for seed in 0..10 {
            let mut rng = Rng::new(seed);
            let mutation = mutate(&reference, &lexicon, &mut rng, &[], &strong);
            assert!(mutation.findings.is_empty());
            assert_eq!(
                meaning(&lexicon, &mutation.student),
                meaning(&lexicon, &reference),
                "{name} seed {seed}"
            );
            check(
                &format!("{name} clean {seed}"),
                &reference,
                &mutation,
                &mut rng,
            );
            if print(&mutation.student) != print(&reference) {
                differs += 1;
            }
        }
        assert!(
            differs >= 8,
            "{name}: harmless variations rarely change anything"
        );
    }
}

/// Open-vocabulary renames (the generator's own words, never the graders') are harmless: the
/// rules grader, through the one matching, finds nothing in clean variants of every library
/// assignment, with either vocabulary; and each record lists its renames by kind.
#[test]
fn open_renames_are_recognised_by_the_matching() {
    let lexicon = Lexicon::builtin();
    let grader = crate::grade::RulesGrader::default();
    let mut kinds = std::collections::BTreeSet::new();
    let mut false_alarms = Vec::new();
    let mut total = 0;
    for (name, reference) in all_references() {
        for seed in 0..6u64 {
            let vocabulary = if seed % 2 == 0 {
                Vocabulary::Seen
            } else {
                Vocabulary::Held
            };
            let open = Harmless {
                rename_entity: 0.6,
                rename_relationship: 0.6,
                rename_attribute: 0.5,
                open_renames: 1.0,
                vocabulary,
                ..Harmless::default()
            };
            let mut rng = Rng::new(seed);
            let mutation = mutate(&reference, &lexicon, &mut rng, &[], &open);
            kinds.extend(mutation.variations.iter().map(|v| v.kind));
            total += 1;
            let findings = grader.findings(&reference, &mutation.student);
            if !findings.is_empty() {
                false_alarms.push(format!(
                    "{name} seed {seed}: {:?} with {:?}",
                    findings
                        .iter()
                        .map(|f| format!("{} {}", f.category, f.element))
                        .collect::<Vec<_>>(),
                    mutation
                        .variations
                        .iter()
                        .map(|v| format!("{}→{} ({})", v.element, v.name, v.kind.id()))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(kinds.len() >= 6, "kinds made: {kinds:?}");
    eprintln!(
        "open renames: {} of {total} clean variants flagged",
        false_alarms.len()
    );
    assert!(
        false_alarms.len() * 50 <= total,
        "{} of {total} clean variants flagged (at most 2 %):\n{}",
        false_alarms.len(),
        false_alarms.join("\n")
    );
}

#[test]
fn same_seed_same_mutation() {
    let lexicon = Lexicon::builtin();
    let d = sample();
    let run = |seed| {
        let mut rng = Rng::new(seed);
        mutate(
            &d,
            &lexicon,
            &mut rng,
            &[Category::WrongCardinality, Category::MissingAttribute],
            &Harmless::default(),
        )
    };
    assert_eq!(run(5), run(5));
}

fn finding_paths(m: &Mutation) -> Vec<String> {
    m.findings.iter().map(|f| f.element.to_string()).collect()
}

#[test]
fn missing_entity_takes_its_consequences_along() {
    let d = sample();
    for seed in 0..40 {
        let m = one(&d, Category::MissingEntity, seed).unwrap();
        let name = finding_paths(&m)[0].clone();
        assert!(m.student.entity(&name).is_none());
        assert!(!m.student.links.iter().any(|l| same_name(&l.entity, &name)));
        for r in &m.student.relationships {
            assert!(
                m.student.links_of(&r.name).count() >= 2,
                "{name}: {} left dangling",
                r.name
            );
        }
        assert_ne!(name, "EMPLOYEE", "a superclass and owner is never removed");
        if name == "PROJECT" {
            // SUPPLY keeps two participants, WORKS_ON goes.
            assert_eq!(m.student.links_of("SUPPLY").count(), 2);
            assert!(m.student.relationship("WORKS_ON").is_none());
        }
    }
}

#[test]
fn wrong_cardinality_follows_the_label_style_convention() {
    let d = sample();
    let mut seen = BTreeSet::new();
    for seed in 0..60 {
        let m = one(&d, Category::WrongCardinality, seed).unwrap();
        let f = &m.findings[0];
        let ElementPath::Side {
            relationship,
            entity,
            role,
        } = &f.element
        else {
            panic!("not a side: {}", f.element);
        };
        let pick = |d: &Diagram| {
            d.links
                .iter()
                .find(|l| &l.relationship == relationship && &l.entity == entity && &l.role == role)
                .unwrap()
                .cardinality
        };
        let (before, after) = (pick(&d), pick(&m.student));
        match before.unwrap() {
            Cardinality::One => assert!(matches!(after, Some(Cardinality::Many(_)))),
            Cardinality::Many(_) => assert_eq!(after, Some(Cardinality::One)),
            Cardinality::MinMax { min, max } => {
                let Some(Cardinality::MinMax { min: m2, max: x2 }) = after else {
                    panic!("style changed")
                };
                assert_eq!(min, m2);
                assert_ne!(max, x2);
            }
        }
        seen.insert(f.element.to_string());
        if f.element.to_string() == "WORKS_FOR/DEPARTMENT" {
            assert_eq!(
                f.explanation,
                "In WORKS_FOR, each EMPLOYEE is related to at most one DEPARTMENT, so the DEPARTMENT side should be 1, not M."
            );
        }
    }
    assert!(seen.contains("SUPERVISION/EMPLOYEE:supervisor"), "{seen:?}");
    assert!(seen.len() >= 6, "{seen:?}");
}

#[test]
fn wrong_participation_toggles_and_keeps_dashes_consistent() {
    let d = sample();
    for seed in 0..40 {
        let m = one(&d, Category::WrongParticipation, seed).unwrap();
        for l in &m.student.links {
            if let Some(Cardinality::MinMax { min, .. }) = l.cardinality {
                assert_eq!(l.total, min >= 1, "{l:?}");
            }
        }
        let path = &m.findings[0].element.to_string();
        assert_ne!(
            path, "DEPENDENTS_OF/DEPENDENT",
            "the weak side belongs to weak_entity"
        );
    }
}

#[test]
fn weak_entity_made_strong_is_one_finding() {
    let d = sample();
    let lexicon = Lexicon::builtin();
    let mut m = Mutator::new(&d, &lexicon);
    assert!(keys::weak_made_strong(&mut m, &mut Rng::new(0)));
    let out = m.finish(&mut Rng::new(0), &Harmless::none());
    assert_eq!(finding_paths(&out), ["DEPENDENT"]);
    let dep = out.student.entity("DEPENDENT").unwrap();
    assert!(!dep.weak);
    assert_eq!(dep.attributes[0].key, KeyKind::Key);
    assert!(
        !out.student
            .relationship("DEPENDENTS_OF")
            .unwrap()
            .identifying
    );
    assert!(crate::lint(&out.student)
        .iter()
        .all(|d| d.severity != crate::Severity::Error));
}

#[test]
fn specialization_mistakes_name_the_reference_specialization() {
    let d = sample();
    let mut paths = BTreeSet::new();
    for seed in 0..40 {
        let m = one(&d, Category::Specialization, seed).unwrap();
        paths.insert(finding_paths(&m)[0].clone());
    }
    assert!(paths.contains("EMPLOYEE>ENGINEER,SECRETARY"), "{paths:?}");
    assert!(paths.contains("OWNER<BANK,PERSON"), "{paths:?}");
    assert!(paths.contains("EMPLOYEE>MANAGER"), "{paths:?}");
    let lexicon = Lexicon::builtin();
    let mut m = Mutator::new(&d, &lexicon);
    assert!(structure::disjointness_toggled(&mut m, &mut Rng::new(1)));
    let out = m.finish(&mut Rng::new(1), &Harmless::none());
    assert_eq!(
        out.student.specializations[0].disjointness,
        Some(Disjointness::Overlapping)
    );
}

#[test]
fn misplaced_attribute_moves_to_a_neighbour() {
    let d = sample();
    for seed in 0..30 {
        let m = one(&d, Category::MisplacedAttribute, seed).unwrap();
        let f = &m.findings[0];
        let ElementPath::Attribute { owner, names } = &f.element else {
            panic!()
        };
        let student: ElementPath = f.student.as_ref().unwrap().parse().unwrap();
        let ElementPath::Attribute {
            owner: new_owner, ..
        } = &student
        else {
            panic!()
        };
        assert_ne!(owner, new_owner);
        assert!(crate::resolve(&m.student, &student).is_ok());
        assert!(crate::resolve(&m.student, &attribute_path(owner, names)).is_err());
    }
}

#[test]
fn relationship_structure_operators_each_apply() {
    let d = sample();
    let lexicon = Lexicon::builtin();
    for (i, op) in operators(Category::RelationshipStructure)
        .iter()
        .enumerate()
    {
        let mut m = Mutator::new(&d, &lexicon);
        assert!(op(&mut m, &mut Rng::new(2)), "operator #{i}");
        let out = m.finish(&mut Rng::new(2), &Harmless::none());
        check(&format!("structure #{i}"), &d, &out, &mut Rng::new(2));
    }
}

#[test]
fn findings_name_renamed_student_elements() {
    let d = sample();
    let lexicon = Lexicon::builtin();
    let all = Harmless {
        rename_entity: 1.0,
        rename_relationship: 1.0,
        rename_attribute: 1.0,
        ..Harmless::none()
    };
    let mut renamed = 0;
    for seed in 0..20 {
        let mut rng = Rng::new(seed);
        let m = mutate(&d, &lexicon, &mut rng, &[Category::WrongCardinality], &all);
        let f = &m.findings[0];
        let student: ElementPath = f.student.as_ref().unwrap().parse().unwrap();
        assert!(crate::resolve(&m.student, &student).is_ok(), "{student}");
        if student != f.element {
            renamed += 1;
        }
    }
    assert!(renamed > 10);
}

#[test]
fn conflicts_are_prefixes() {
    let a: Touch = vec!["e".into(), "x".into()];
    let b: Touch = vec!["e".into(), "x".into(), "a".into(), "name".into()];
    let c: Touch = vec!["e".into(), "y".into()];
    assert!(conflicts(&a, &b) && conflicts(&b, &a));
    assert!(!conflicts(&a, &c));
}
