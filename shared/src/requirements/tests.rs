use super::*;

const COMPANY: &str = include_str!("../../../static/assignments/company/requirements.md");

const COMPANY_REFERENCE: &str = include_str!("../../../static/assignments/company/reference.puml");

fn locate(category: Category, path: &str) -> Option<(Option<u32>, String)> {
    let requirements = Requirements::parse(COMPANY);
    let reference = crate::parse(COMPANY_REFERENCE).unwrap();
    requirements
        .locate(
            &Lexicon::builtin(),
            &reference,
            category,
            &path.parse().unwrap(),
        )
        .map(|s| (s.item, s.text.clone()))
}

/// The sentences of `r` with their item numbers.
fn sentences(r: &Requirements) -> Vec<(Option<u32>, &str)> {
    r.sentences
        .iter()
        .map(|s| (s.item, s.text.as_str()))
        .collect()
}

#[test]
fn sentences_keep_their_item_numbers_and_leave_out_headings() {
    let r = Requirements::parse("# Title\n\nIntro text. Second one.\n\n1. First *item*. More `code`.\n2. Next\n   continued.\n- bullet\n");
    let got = sentences(&r);
    assert_eq!(
        got,
        vec![
            (None, "Intro text."),
            (None, "Second one."),
            (Some(1), "First item."),
            (Some(1), "More code."),
            (Some(2), "Next continued."),
            (None, "bullet"),
        ]
    );
}

#[test]
fn a_side_is_found_by_its_relationship_and_entity() {
    let (item, text) = locate(Category::WrongParticipation, "WORKS_ON/PROJECT").unwrap();
    assert_eq!(item, Some(6));
    assert!(text.starts_with("Every employee works on one or more projects"));
    let (item, _) = locate(Category::WrongCardinality, "MANAGES/EMPLOYEE").unwrap();
    assert_eq!(item, Some(5));
}

#[test]
fn an_attribute_is_found_by_its_words_and_owner() {
    let (item, text) = locate(Category::MissingAttribute, "EMPLOYEE.Salary").unwrap();
    assert_eq!(item, Some(3));
    assert!(text.contains("salary"));
    let (item, _) = locate(Category::MissingAttribute, "WORKS_ON.Hours").unwrap();
    assert_eq!(item, Some(6));
    // `Number_of_employees` is "the number of employees ... computed".
    let (item, text) = locate(Category::AttributeKind, "DEPARTMENT.Number_of_employees").unwrap();
    assert_eq!(item, Some(1));
    assert!(text.contains("computed"), "{text}");
}

#[test]
fn related_words_count_supervision_is_the_supervisor_sentence() {
    let (item, _) = locate(Category::MissingRelationship, "SUPERVISION").unwrap();
    assert_eq!(item, Some(7));
    let (item, _) = locate(Category::WeakEntity, "DEPENDENT").unwrap();
    assert_eq!(item, Some(8));
}

#[test]
fn nothing_is_cited_when_no_sentence_speaks_of_the_element() {
    assert_eq!(locate(Category::MissingEntity, "AIRCRAFT"), None);
    let mut findings = vec![Finding {
        category: Category::MissingEntity,
        element: "PROJECT".parse().unwrap(),
        student: None,
        explanation: String::new(),
        requirement: None,
    }];
    let reference = crate::parse(COMPANY_REFERENCE).unwrap();
    cite(&Lexicon::builtin(), &reference, None, &mut findings);
    assert_eq!(findings[0].requirement, None);
    cite(
        &Lexicon::builtin(),
        &reference,
        Some(COMPANY),
        &mut findings,
    );
    assert_eq!(findings[0].requirement.as_ref().unwrap().item, Some(2));
}

#[test]
fn loose_word_relations_do_not_count() {
    // WordNet makes one sense of `include` a kind of `view`; a sentence about ownership that
    // says "including none" is not about VIEWS.
    assert_eq!(word_match("views", "including"), 0.0);
    assert!(word_match("supervision", "supervisor") > 0.0);
    assert!(word_match("renter", "rent") > 0.0);
    assert_eq!(word_match("projects", "project"), 1.0);
}

#[test]
fn blocks_are_read_as_the_page_renders_them() {
    // An unindented line after an item is a paragraph; `+` bullets are items; `01.` is item 1.
    let r = Requirements::parse(
        "01. One.\nA paragraph.\n+ A bullet.\n  more of it.\n\n#NoHeading here.\n",
    );
    let got = sentences(&r);
    assert_eq!(
        got,
        vec![
            (Some(1), "One."),
            (None, "A paragraph."),
            (None, "A bullet. more of it."),
            (None, "#NoHeading here."),
        ]
    );
}
