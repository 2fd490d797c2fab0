//! The trace format and the audit on a generated data set: every record's true focused trace
//! (every label on one step) renders,
//! parses back unchanged and passes the audit, and the inference-time check keeps every true
//! finding.

use eerd::audit::{audit_draft, check_findings};
use eerd::lexicon::Lexicon;
use eerd::trace::{completion_text, focus_steps, focus_trace, gold_trace, parse_completion};
use eerd_trainer::dataset::{generate, load_library, Options};
use eerd_trainer::r2ta::draft::Draft;
use eerd_trainer::r2ta::refine::refine;
use eerd_trainer::r2ta::traces::gold_records;
use std::path::Path;

#[test]
fn true_traces_round_trip_and_pass_the_audit() {
    let data = data_set(7, 160, 40);
    let lexicon = Lexicon::builtin();
    let mut records = 0;
    for record in data.train.iter().chain(&data.test).chain(&data.unseen) {
        let reference = eerd::parse(&record.reference).expect("reference parses");
        let student = eerd::parse(&record.student).expect("student parses");
        let gold = focus_trace(
            &focus_steps(&lexicon, &reference, &student),
            &gold_trace(&lexicon, &reference, &student, &record.findings),
        );
        assert!(gold.is_consistent(), "{}", record.id);
        assert_eq!(gold.findings.len(), record.findings.len(), "{}", record.id);
        let text = gold.render();
        let parsed = parse_completion(&text);
        assert!(parsed.is_clean(), "{}: {:?}", record.id, parsed.errors);
        assert_eq!(parsed.trace, gold, "{}", record.id);
        let audit = audit_draft(&lexicon, &reference, &student, &record.findings, &parsed);
        assert!(!audit.is_flawed(), "{}: {audit:#?}", record.id);
        let checked = check_findings(
            &lexicon,
            &reference,
            &student,
            record.requirements.as_deref(),
            &record.findings,
        );
        for c in &checked {
            assert!(c.dropped.is_none(), "{}: {:?}", record.id, c);
        }
        records += 1;
    }
    assert_eq!(records, 200);
}

/// Focused training data: one example per focused step (element, attribute, side), the verdicts of the true trace;
/// those verdicts make a completion whose findings are exactly the labels.
#[test]
fn focused_examples_carry_the_true_verdicts() {
    let (records, lexicon) = small_data_set();
    let examples = gold_records(&records, &lexicon).unwrap();
    let mut offset = 0;
    for record in &records {
        let reference = eerd::parse(&record.reference).unwrap();
        let student = eerd::parse(&record.student).unwrap();
        let steps = focus_steps(&lexicon, &reference, &student);
        let mine = &examples[offset..offset + steps.len()];
        offset += steps.len();
        for (k, (example, step)) in mine.iter().zip(&steps).enumerate() {
            assert_eq!(example.id, format!("{}#{}", record.id, k + 1));
            assert_eq!(example.prompt, step.prompt);
            assert!(!example.prompt.contains("<|"));
        }
        let verdicts: Vec<String> = mine.iter().map(|e| e.completion.clone()).collect();
        let parsed = parse_completion(&completion_text(&steps, &verdicts));
        assert!(parsed.is_clean(), "{}: {:?}", record.id, parsed.errors);
        let mut found: Vec<String> = parsed
            .trace
            .findings
            .iter()
            .map(|f| format!("{} {}", f.category, f.element))
            .collect();
        let mut truth: Vec<String> = record
            .findings
            .iter()
            .map(|f| format!("{} {}", f.category, f.element))
            .collect();
        found.sort();
        truth.sort();
        assert_eq!(found, truth, "{}", record.id);
        // The inference-time audit keeps every true finding as the grader writes it (with the
        // student's path of the step's match).
        for c in check_findings(&lexicon, &reference, &student, None, &parsed.trace.findings) {
            assert!(c.dropped.is_none(), "{}: {:?}", record.id, c);
        }
    }
    assert_eq!(offset, examples.len());
}

/// Refining a draft with one wrong step: the SFT data is the true verdicts, and the only
/// preference pair is that step's prompt with the true verdict over the drafted one.
#[test]
fn refine_pairs_the_flawed_step_only() {
    let (records, lexicon) = small_data_set();
    let record = records
        .iter()
        .find(|r| r.findings.len() == 1)
        .expect("a record with one mistake")
        .clone();
    let reference = eerd::parse(&record.reference).unwrap();
    let student = eerd::parse(&record.student).unwrap();
    let steps = focus_steps(&lexicon, &reference, &student);
    let truth = gold_records(std::slice::from_ref(&record), &lexicon).unwrap();
    let flawed = truth.iter().position(|e| e.completion != "ok").unwrap();
    let mut verdicts: Vec<String> = truth.iter().map(|e| e.completion.clone()).collect();
    verdicts[flawed] = "ok".into();
    let draft = Draft {
        id: record.id.clone(),
        sample: 0,
        completion: completion_text(&steps, &verdicts),
        tokens: 0,
        stop: "eos".into(),
    };
    let refined = refine(std::slice::from_ref(&record), &[draft], &lexicon).unwrap();
    assert_eq!(refined.traces, truth);
    assert_eq!(refined.pairs.len(), 1);
    let pair = &refined.pairs[0];
    assert_eq!(pair.id, format!("{}#{}", record.id, flawed + 1));
    assert_eq!(pair.prompt, steps[flawed].prompt);
    assert_eq!(pair.chosen, truth[flawed].completion);
    assert_eq!(pair.rejected, "ok");
    assert!(refined.audits[0].flawed);
}

/// The training records of a small generated data set, and the built-in lexicon.
fn small_data_set() -> (Vec<eerd::finding::Record>, Lexicon) {
    (data_set(11, 40, 10).train, Lexicon::builtin())
}

/// A data set generated from the library with `seed` and these sizes.
fn data_set(seed: u64, variants: usize, unseen: usize) -> eerd_trainer::dataset::Dataset {
    let library =
        load_library(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments"))
            .expect("library");
    let options = Options {
        seed,
        variants,
        unseen,
        ..Options::default()
    };
    generate(&library, options, &mut |_, _| {}).expect("data set")
}
