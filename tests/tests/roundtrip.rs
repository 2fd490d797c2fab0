//! Parse → print → parse gives an equal diagram: on every diagram in the repository, on the
//! format's own sample, and on generated diagrams; printing is idempotent.

use eerd::{parse, print, print_with, PrintOptions};
use eerd_e2e::{format_sample, puml_files, repo_root, strategies};
use proptest::prelude::*;

fn assert_round_trip(name: &str, text: &str) {
    let first = parse(text).unwrap_or_else(|e| panic!("{name} does not parse:\n{e}"));
    for options in [
        PrintOptions::default(),
        PrintOptions {
            roles_as_comments: true,
        },
    ] {
        let printed = print_with(&first, options);
        let second = parse(&printed)
            .unwrap_or_else(|e| panic!("{name}: printed text does not parse:\n{e}\n{printed}"));
        assert_eq!(
            first, second,
            "{name}: round trip changed the diagram ({options:?})"
        );
        assert_eq!(
            print_with(&second, options),
            printed,
            "{name}: printing is not idempotent"
        );
    }
}

#[test]
fn repository_diagrams_round_trip() {
    let files = puml_files(&repo_root());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert_round_trip(&file.display().to_string(), &text);
    }
}

#[test]
fn format_sample_round_trips() {
    let Some(sample) = format_sample() else {
        eprintln!("../shared/eerd-format.md not found; skipped");
        return;
    };
    assert_round_trip("eerd-format.md sample", &sample);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_diagrams_round_trip(diagram in strategies::diagram()) {
        let printed = print(&diagram);
        let parsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
        prop_assert_eq!(&parsed, &diagram, "{}", printed);
        let commented = print_with(&diagram, PrintOptions { roles_as_comments: true });
        let parsed = parse(&commented).map_err(|e| TestCaseError::fail(format!("{e}\n{commented}")))?;
        prop_assert_eq!(&parsed, &diagram);
    }
}

#[test]
fn generator_covers_every_construct() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut text = String::new();
    for _ in 0..64 {
        let d = strategies::diagram()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        text.push_str(&print(&d));
    }
    for needle in [
        "<<weak>>",
        "<<identifying>>",
        "<<key>>",
        "<<partial>>",
        "<<multi>>",
        "<<derived>>",
        " as ",
        " : ",
        "(0,N)",
        " {\n    ",
        "->- d {",
        "=>= o {",
        "U {",
        "=1=",
        "-N-",
        "skinparam",
    ] {
        assert!(
            text.contains(needle),
            "generated diagrams never contain {needle:?}"
        );
    }
}

/// A weak entity's partial key prints as `<<key>>` (the one PlantUML underlines) and reads back
/// as the partial key; a partial key elsewhere keeps `<<partial>>` so that it reads back.
#[test]
fn partial_keys_print_as_plantuml_draws_them() {
    let text = "@startchen\nentity O {\n  Id <<key>>\n}\nentity W <<weak>> {\n  Name <<partial>>\n}\nentity S {\n  Code <<partial>>\n}\n@endchen\n";
    let d = eerd::parse(text).unwrap();
    let printed = print(&d);
    assert!(
        printed.contains("entity W <<weak>> {\n  Name <<key>>\n}"),
        "{printed}"
    );
    assert!(printed.contains("  Code <<partial>>\n"), "{printed}");
    assert_eq!(eerd::parse(&printed).unwrap(), d);
}
