use super::*;

fn warnings_of(text: &str) -> (Diagram, Vec<(usize, usize, &'static str)>) {
    let (parsed, warnings) = parse_with_warnings(text);
    let diagram = parsed.unwrap_or_else(|e| panic!("{e}"));
    (
        diagram,
        warnings
            .iter()
            .map(|w| (w.line, w.column, w.code))
            .collect(),
    )
}

#[test]
fn unknown_stereotypes_are_kept_and_typos_read_as_the_known_one() {
    let text = "@startchen\nentity E <<red>> {\n  Id <<key>> <<unique>>\n  Tags <<multy>>\n  Ref <<fkey>>\n  Age <<dereived>>\n}\nentity W <<week>> {\n  N <<KEY>>\n}\nrelationship R <<identifying>> {\n}\nR -1- E\nR =N= W\n@endchen\n";
    let (d, warnings) = warnings_of(text);
    assert_eq!(
        warnings,
        vec![
            (2, 10, "unknown-stereotype"),
            (3, 14, "unknown-stereotype"),
            (4, 8, "unknown-stereotype"),
            (5, 7, "unknown-stereotype"),
            (6, 7, "unknown-stereotype"),
            (8, 10, "unknown-stereotype"),
            (9, 5, "unknown-stereotype"),
        ]
    );
    let e = &d.entities[0];
    assert_eq!(e.stereotypes, vec!["red"]);
    assert_eq!(e.attributes[0].stereotypes, vec!["unique"]);
    assert!(e.attributes[1].multivalued && e.attributes[1].stereotypes.is_empty());
    assert_eq!(
        e.attributes[2].stereotypes,
        vec!["fkey"],
        "fkey is not a typo of key"
    );
    assert_eq!(e.attributes[2].key, KeyKind::None);
    assert!(e.attributes[3].derived);
    assert!(d.entities[1].weak);
    assert_eq!(d.entities[1].attributes[0].key, KeyKind::Partial);
    let (_, warnings) = parse_with_warnings(text);
    assert!(warnings[2].message.contains("did you mean <<multi>>?"));
    assert!(warnings[3].message.contains("kept as written"));
    // Printed back: the unknown ones as written, the typos corrected.
    let printed = crate::print(&d);
    assert!(printed.contains("entity E <<red>> {"));
    assert!(printed.contains("  Id <<key>> <<unique>>\n"));
    assert!(printed.contains("  Tags <<multi>>\n"));
    assert_eq!(parse(&printed).unwrap(), d);
}

#[test]
fn style_and_skinparam_blocks_are_kept_verbatim_with_a_warning() {
    let text = "@startchen\n<style>\n  entity {\n    BackgroundColor pink\n  }\n</style>\nskinparam chenEntity {\n  BorderColor red\n}\nentity E {\n  Id <<key>>\n}\n@endchen\n";
    let (d, warnings) = warnings_of(text);
    assert_eq!(
        warnings,
        vec![(2, 1, "style-ignored"), (7, 1, "style-ignored")]
    );
    assert_eq!(d.directives.len(), 2);
    assert_eq!(
        d.directives[0],
        "<style>\n  entity {\n    BackgroundColor pink\n  }\n</style>"
    );
    assert_eq!(crate::print(&d), text);
    // An unclosed block is an error at the end, naming the block.
    let (parsed, _) = parse_with_warnings("@startchen\n<style>\nentity E {\n}\n");
    let errors = parsed.unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("'</style>' closing the `<style>` block"),
        "{errors}"
    );
}

#[test]
fn letter_ranges_and_free_text_labels_are_read_with_a_warning_and_printed_as_written() {
    let text = "@startchen\nentity A {\n  Id <<key>>\n}\nentity B {\n  Id <<key>>\n}\nrelationship R {\n}\nR -(N,M)- A\nR =(1,K)= B\nrelationship S {\n}\nS -Nsupervised- A : boss\nS -1- A : worker\n@endchen\n";
    let (d, warnings) = warnings_of(text);
    assert_eq!(
        warnings,
        vec![
            (10, 5, "letter-range"),
            (11, 7, "letter-range"),
            (14, 4, "free-text-label")
        ]
    );
    assert_eq!(
        d.links[0].cardinality,
        Some(Cardinality::MinMax { min: 0, max: None })
    );
    assert_eq!(d.links[0].written.as_deref(), Some("(N,M)"));
    assert_eq!(
        d.links[1].cardinality,
        Some(Cardinality::MinMax { min: 1, max: None })
    );
    assert_eq!(d.links[2].cardinality, None);
    assert_eq!(d.links[2].written.as_deref(), Some("Nsupervised"));
    let printed = crate::print(&d);
    assert!(printed.contains("R -(N,M)- A\n") && printed.contains("S -Nsupervised- A : boss\n"));
    assert_eq!(parse(&printed).unwrap(), d);
    // Plain labels carry nothing as written.
    assert_eq!(d.links[3].written, None);
}

#[test]
fn comments_stay_with_the_element_after_them_and_print_back() {
    let text = "@startchen\n' the people\nskinparam x 1\nentity A {\n  ' the key\n  Id <<key>>\n  /' a block\n     comment '/\n  Name\n}\n/' one line '/\nrelationship R {\n}\n' a link comment\nR -1- A\n' trailing\n@endchen\n";
    let d = parse(text).unwrap();
    assert_eq!(d.directives, vec!["' the people\nskinparam x 1"]);
    assert_eq!(d.entities[0].attributes[0].comments, vec!["' the key"]);
    assert_eq!(
        d.entities[0].attributes[1].comments,
        vec!["/' a block\n     comment '/"]
    );
    assert_eq!(d.relationships[0].comments, vec!["/' one line '/"]);
    assert_eq!(d.links[0].comments, vec!["' a link comment"]);
    assert_eq!(d.comments, vec!["' trailing"]);
    assert_eq!(crate::print(&d), text);
    // A role comment is the link's role, not a comment.
    let roled =
        parse("@startchen\nentity A {\n}\nrelationship R {\n}\n' role: boss\nR -1- A\n@endchen\n")
            .unwrap();
    assert_eq!(roled.links[0].role.as_deref(), Some("boss"));
    assert!(roled.links[0].comments.is_empty());
}

#[test]
fn typos_are_near_the_known_word_with_its_first_letter() {
    let (d, _) = warnings_of(
        "@startchen\nentity W <<work>> {\n  A <<kye>>\n  B <<multivlaued>>\n  C <<multo>>\n}\n@endchen\n",
    );
    let w = &d.entities[0];
    assert!(!w.weak, "work is another word, not a typo of weak");
    assert_eq!(w.stereotypes, vec!["work"]);
    assert_eq!(
        w.attributes[0].key,
        KeyKind::Key,
        "kye: two letters swapped"
    );
    assert!(w.attributes[1].multivalued);
    assert!(w.attributes[2].multivalued, "multo: one edit from multi");
}
