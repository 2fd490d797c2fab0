//! The trace format and the audit on a generated data set: every record's true trace renders,
//! parses back unchanged and passes the audit, and the inference-time check keeps every true
//! finding.

use eerd::audit::{audit_draft, check_findings};
use eerd::lexicon::Lexicon;
use eerd::trace::{gold_trace, parse_completion, prompt};
use eerd_trainer::dataset::{generate, load_library, Options};
use std::path::Path;

#[test]
fn true_traces_round_trip_and_pass_the_audit() {
    let library =
        load_library(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments"))
            .expect("library");
    let options = Options {
        seed: 7,
        variants: 160,
        unseen: 40,
    };
    let data = generate(&library, options, &mut |_, _| {}).expect("data set");
    let lexicon = Lexicon::builtin();
    let mut records = 0;
    for record in data.train.iter().chain(&data.test).chain(&data.unseen) {
        let reference = eerd::parse(&record.reference).expect("reference parses");
        let student = eerd::parse(&record.student).expect("student parses");
        let gold = gold_trace(&lexicon, &reference, &student, &record.findings);
        assert!(gold.is_consistent(), "{}", record.id);
        assert_eq!(gold.findings.len(), record.findings.len(), "{}", record.id);
        let text = gold.render();
        let parsed = parse_completion(&text);
        assert!(parsed.is_clean(), "{}: {:?}", record.id, parsed.errors);
        assert_eq!(parsed.trace, gold, "{}", record.id);
        let audit = audit_draft(&lexicon, &reference, &student, &record.findings, &parsed);
        assert!(!audit.is_flawed(), "{}: {audit:#?}", record.id);
        let checked = check_findings(&lexicon, &reference, &student, &record.findings);
        for c in &checked {
            assert!(c.dropped.is_none(), "{}: {:?}", record.id, c);
        }
        assert!(!prompt(&reference, &student, None).contains("<|"));
        records += 1;
    }
    assert_eq!(records, 200);
}
