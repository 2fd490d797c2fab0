//! The runtime and the grader on the tiny test model, natively (`cargo test`) and in headless
//! Chrome (`cargo xtask wasm-test`): both must produce the same greedy tokens (recorded here
//! from the native runtime), stream every piece, and cancel on request.

use eerd::runtime::{GenerateOptions, Model, StopReason};
use std::ops::ControlFlow;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::{wasm_bindgen_test as test, wasm_bindgen_test_configure};
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test_configure!(run_in_browser);

const GGUF: &[u8] = include_bytes!("fixtures/tiny-model/model.gguf");
const TOKENIZER: &[u8] = include_bytes!("fixtures/tiny-model/tokenizer.json");
const PROMPT: &str = "E EMPLOYEE: *Ssn, Name(Fname, Lname), Salary";
/// `eerd generate --model web/tests/fixtures/tiny-model/model.gguf --prompt PROMPT
/// --max-tokens 24 --json` (native, greedy).
const NATIVE_TOKENS: [u32; 24] = [
    475, 377, 323, 461, 72, 68, 477, 105, 510, 337, 56, 377, 323, 461, 72, 68, 279, 274, 510, 337,
    56, 279, 274, 510,
];

#[test]
fn greedy_tokens_equal_the_native_runtime() {
    let mut model = Model::from_bytes(GGUF, TOKENIZER).unwrap();
    let prompt = model.prompt_ids(PROMPT).unwrap();
    assert_eq!(prompt.len(), 25);
    let options = GenerateOptions {
        max_tokens: 24,
        ..GenerateOptions::default()
    };
    let mut pieces = String::new();
    let out = model
        .generate(&prompt, &options, |e| {
            pieces.push_str(e.text);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(out.tokens, NATIVE_TOKENS);
    assert_eq!(out.stop, StopReason::MaxTokens);
    assert_eq!(pieces, out.text, "the streamed pieces make up the text");
}

#[test]
fn the_callback_cancels() {
    let mut model = Model::from_bytes(GGUF, TOKENIZER).unwrap();
    let prompt = model.prompt_ids(PROMPT).unwrap();
    let out = model
        .generate(&prompt, &GenerateOptions::default(), |e| {
            if e.count >= 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(out.stop, StopReason::Cancelled);
    assert_eq!(out.tokens.len(), 3);
}

/// With `ignore_eos` generation goes on past the end token to `max_tokens` (the tiny model ends
/// this prompt after 13 tokens).
#[test]
fn ignore_eos_generates_the_full_budget() {
    let mut model = Model::from_bytes(GGUF, TOKENIZER).unwrap();
    let prompt = model.prompt_ids("E EMPLOYEE: *Ssn").unwrap();
    let mut options = GenerateOptions {
        max_tokens: 40,
        ..GenerateOptions::default()
    };
    let ends = model
        .generate(&prompt, &options, |_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(ends.stop, StopReason::Eos);
    assert!(ends.tokens.len() < 40);
    options.ignore_eos = true;
    let full = model
        .generate(&prompt, &options, |_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(full.stop, StopReason::MaxTokens);
    assert_eq!(full.tokens.len(), 40);
    assert_eq!(full.tokens[..ends.tokens.len()], ends.tokens[..]);
}

#[test]
fn bad_bytes_are_errors_not_panics() {
    assert!(Model::from_bytes(b"not a gguf", TOKENIZER).is_err());
    assert!(Model::from_bytes(GGUF, b"{").is_err());
}

/// The shared model grader runs one focused step per element, attribute and side: the streamed pieces
/// make the completion text, which has a line per step and the findings block; a cancel stops
/// it after the token it asked for, without a findings block.
#[test]
fn focused_grading_streams_every_step_and_cancels() {
    use eerd::grade::Submission;
    use eerd::runtime::ModelGrader;
    let reference = eerd::parse(include_str!(
        "../../static/assignments/company/reference.puml"
    ))
    .unwrap();
    let student = reference.clone();
    let steps = eerd::trace::focus_steps(&eerd::lexicon::Lexicon::builtin(), &reference, &student);
    // The untrained tiny model rarely ends a line: 8 tokens a step keep the test fast.
    let mut grader = ModelGrader::new(Model::from_bytes(GGUF, TOKENIZER).unwrap(), "tiny")
        .with_options(GenerateOptions {
            max_tokens: 8,
            ..GenerateOptions::default()
        });
    let submission = Submission {
        reference: &reference,
        student: &student,
        requirements: None,
    };
    let mut streamed = String::new();
    let graded = grader
        .run(submission, |event| {
            streamed.push_str(event.text);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(streamed, graded.generation.text);
    assert_eq!(graded.generation.stop, StopReason::Eos);
    assert!(graded.parsed.has_findings_block);
    let step_lines = streamed.lines().filter(|l| l.contains(" | ")).count();
    assert!(step_lines >= steps.len(), "{streamed}");
    assert!(streamed.starts_with("Steps:\n1. entity "), "{streamed}");
    let mut last = 0;
    let cancelled = grader
        .run(submission, |event| {
            last = event.count;
            if event.count >= 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(cancelled.generation.stop, StopReason::Cancelled);
    assert_eq!(cancelled.generation.tokens.len(), 3);
    assert_eq!(last, 3);
    assert!(!cancelled.parsed.has_findings_block);
}

/// The exported grader end to end, with JavaScript callbacks: one that lets it finish, one that
/// stops after 2 tokens.
#[cfg(target_arch = "wasm32")]
#[test]
fn the_grader_streams_to_javascript_and_stops() {
    let reference = include_str!("../../static/assignments/company/reference.puml");
    let student = reference.replace("\n  Salary\n", "\n");
    let mut grader = eerd_web::Grader::new(GGUF, TOKENIZER).unwrap();
    let go_on = js_sys::Function::new_with_args("piece, count", "return false;");
    let full: serde_json::Value =
        serde_json::from_str(&grader.grade(reference, &student, None, 8, &go_on).unwrap()).unwrap();
    let n = full["generated_tokens"].as_u64().unwrap();
    assert!(n > 2, "the tiny model wrote {n} tokens");
    assert!(full["findings"].is_array() && full["text"].is_string());
    let stop_at_two = js_sys::Function::new_with_args("piece, count", "return count >= 2;");
    let out: serde_json::Value = serde_json::from_str(
        &grader
            .grade(reference, &student, None, 8, &stop_at_two)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out["stop"], "cancelled");
    assert_eq!(out["generated_tokens"], 2);
}
