//! The browser crate: what the grading page, its worker and the widget call.
//!
//! - [`check`]: parse and lint diagnostics as the student types;
//! - [`draw()`]: the diagram laid out by a graph-layout library, as geometry for SVG;
//! - [`Grader`]: the quantized model (GGUF + tokenizer from bytes) grading a student diagram
//!   against a reference, streaming text per token with cancellation (runs in a Web Worker);
//! - [`focus_prompts`] / [`read_completion`]: the trace format ([`eerd::trace`]) and the
//!   inference-time audit ([`eerd::audit::check_findings`]), for the page's Stop path, the
//!   benchmark and tests.
//!
//! Grading is the shared [`eerd::runtime::ModelGrader`] (one focused prompt per reference
//! element, generation, completion parsing, audit) — the same code the native evaluation scores. Everything returns JSON strings; the page
//! builds the DOM with `textContent` only.

mod draw;

use eerd::audit::{check_findings, CheckedFinding};
use eerd::grade::Submission;
use eerd::lexicon::Lexicon;
use eerd::runtime::{GenerateOptions, Model, ModelGrader, StopReason};
use eerd::trace::ParsedTrace;
use serde::Serialize;
use std::ops::ControlFlow;
use wasm_bindgen::prelude::*;

pub use draw::{draw as layout, Drawing};

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Sends panics to the browser console (once per module instance).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| console_error(&info.to_string())));
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

/// Parses and lints `text`; returns a JSON array of `{severity, code, line, column, message}`.
#[wasm_bindgen]
pub fn check(text: &str) -> String {
    serde_json::to_string(&eerd::check_text(text)).unwrap_or_else(|_| "[]".to_string())
}

/// Lays out `text`'s diagram: JSON `{"ok": true, "drawing": {width, height, nodes, edges},
/// "error_lines": [...]}` — with syntax errors, the drawing of every line that parsed and the
/// lines left out — or `{"ok": false, "error_lines": [...]}` when nothing could be read.
#[wasm_bindgen]
pub fn draw(text: &str) -> String {
    #[derive(Serialize)]
    struct Out {
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        drawing: Option<Drawing>,
        error_lines: Vec<usize>,
    }
    let recovered = eerd::parse::parse_recovered(text);
    // Lines left out of the drawing; an error at the end of the text (a missing `@endchen` or
    // `}`) leaves out no line.
    let mut error_lines: Vec<usize> = recovered
        .errors
        .iter()
        .filter(|e| e.found != "end of file")
        .map(|e| e.line)
        .collect();
    error_lines.dedup();
    let d = &recovered.diagram;
    let empty = d.entities.is_empty() && d.relationships.is_empty() && d.links.is_empty();
    if empty && !error_lines.is_empty() {
        return json(&Out {
            ok: false,
            drawing: None,
            error_lines,
        });
    }
    json(&Out {
        ok: true,
        drawing: Some(draw::draw(d)),
        error_lines,
    })
}

fn parse_named(what: &str, text: &str) -> Result<eerd::Diagram, String> {
    eerd::parse(text).map_err(|errors| {
        let first = errors.0.first().map(|e| e.to_string()).unwrap_or_default();
        format!(
            "the {what} diagram has {} syntax error(s); first: {first}",
            errors.0.len()
        )
    })
}

/// The focused step prompts for a reference and a student diagram (texts), as a JSON array of
/// strings in step order.
#[wasm_bindgen]
pub fn focus_prompts(reference: &str, student: &str) -> Result<String, JsError> {
    let reference = parse_named("reference", reference).map_err(|e| JsError::new(&e))?;
    let student = parse_named("student", student).map_err(|e| JsError::new(&e))?;
    let prompts: Vec<String> = eerd::trace::focus_steps(&Lexicon::builtin(), &reference, &student)
        .into_iter()
        .map(|s| s.prompt)
        .collect();
    Ok(json(&prompts))
}

/// A malformed line of a completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A grading result as the page receives it.
#[derive(Debug, Serialize)]
pub struct GradeResult {
    /// The completion text (absent in [`read_completion`]'s answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Findings kept by the audit, each with the student's element when it can be told.
    pub findings: Vec<eerd::Finding>,
    /// Findings the audit dropped, with the reason.
    pub dropped: Vec<Dropped>,
    /// Malformed lines of the completion.
    pub errors: Vec<TraceError>,
    /// Whether the completion reached its findings block.
    pub complete: bool,
    /// Well-formed reasoning steps.
    pub steps: usize,
    /// Steps that claimed nothing (compared an element and found it right).
    pub quiet_steps: usize,
    /// Why generation stopped: `eos`, `max_tokens`, `context_full`, `cancelled`, `stop`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_tokens: Option<usize>,
}

/// A finding the audit removed.
#[derive(Debug, Serialize)]
pub struct Dropped {
    pub finding: eerd::Finding,
    pub reason: String,
}

/// The page's view of a parsed and audited completion: kept findings (each with the student's
/// element from the one matching, filled in by the audit), dropped ones with their reason, and
/// the parse errors.
fn result_of(parsed: &ParsedTrace, checked: Vec<CheckedFinding>) -> GradeResult {
    let mut findings = Vec::new();
    let mut dropped = Vec::new();
    for c in checked {
        let finding = c.finding;
        match c.dropped {
            Some(reason) => dropped.push(Dropped { finding, reason }),
            None => findings.push(finding),
        }
    }
    GradeResult {
        text: None,
        findings,
        dropped,
        errors: parsed
            .errors
            .iter()
            .map(|e| TraceError {
                line: e.line,
                column: e.column,
                message: e.message.clone(),
            })
            .collect(),
        complete: parsed.has_findings_block,
        steps: parsed.trace.steps.len(),
        quiet_steps: parsed
            .trace
            .steps
            .iter()
            .filter(|s| s.claims.is_empty())
            .count(),
        stop: None,
        prompt_tokens: None,
        generated_tokens: None,
    }
}

/// Parses a completion against the two diagrams (texts) and audits it; JSON like
/// [`Grader::grade`]'s result without the generation fields.
#[wasm_bindgen]
pub fn read_completion(
    text: &str,
    reference: &str,
    student: &str,
    requirements: Option<String>,
) -> Result<String, JsError> {
    let reference = parse_named("reference", reference).map_err(|e| JsError::new(&e))?;
    let student = parse_named("student", student).map_err(|e| JsError::new(&e))?;
    let parsed = eerd::trace::parse_completion(text);
    let checked = check_findings(
        &Lexicon::builtin(),
        &reference,
        &student,
        requirements.as_deref(),
        &parsed.trace.findings,
    );
    Ok(json(&result_of(&parsed, checked)))
}

fn stop_name(stop: &StopReason) -> &'static str {
    match stop {
        StopReason::Eos => "eos",
        StopReason::StopSequence(_) => "stop",
        StopReason::MaxTokens => "max_tokens",
        StopReason::ContextFull => "context_full",
        StopReason::Cancelled => "cancelled",
    }
}

/// Calls the page's per-token callback; a truthy return value (or a throw) cancels.
fn callback(
    on_token: &js_sys::Function,
) -> impl FnMut(&eerd::runtime::TokenEvent) -> ControlFlow<()> + '_ {
    move |event| {
        let stop = on_token
            .call2(
                &JsValue::NULL,
                &JsValue::from_str(event.text),
                &JsValue::from_f64(event.count as f64),
            )
            .map(|v| v.is_truthy())
            .unwrap_or(true);
        if stop {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// The grading model: the shared [`ModelGrader`] (weights with their KV cache, the tokenizer,
/// the inference-time audit).
#[wasm_bindgen]
pub struct Grader {
    inner: Option<ModelGrader>,
    context_length: usize,
    vocab_size: usize,
}

#[wasm_bindgen]
impl Grader {
    /// Loads a GGUF model and its `tokenizer.json` from bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(gguf: &[u8], tokenizer: &[u8]) -> Result<Grader, JsError> {
        let model = Model::from_bytes(gguf, tokenizer).map_err(|e| JsError::new(&e.to_string()))?;
        let (context_length, vocab_size) = (model.context_length(), model.vocab_size());
        let inner = ModelGrader::new(model, "web").with_audit(true);
        Ok(Grader {
            inner: Some(inner),
            context_length,
            vocab_size,
        })
    }

    /// `{"context_length": …, "vocab_size": …}`.
    pub fn info(&self) -> String {
        json(&serde_json::json!({
            "context_length": self.context_length,
            "vocab_size": self.vocab_size,
        }))
    }

    /// Grades `student` against `reference` (diagram texts), one focused step per reference
    /// element, generating at most `max_tokens` greedily for each step's verdict (the runtime
    /// caps it at 64) and calling `on_token(text, count)` with every piece of the completion
    /// (return `true` to stop). Returns a [`GradeResult`] as JSON.
    pub fn grade(
        &mut self,
        reference: &str,
        student: &str,
        requirements: Option<String>,
        max_tokens: usize,
        on_token: &js_sys::Function,
    ) -> Result<String, JsError> {
        let reference = parse_named("reference", reference).map_err(|e| JsError::new(&e))?;
        let student = parse_named("student", student).map_err(|e| JsError::new(&e))?;
        let mut grader = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("the grader failed earlier"))?
            .with_options(GenerateOptions {
                max_tokens,
                ..GenerateOptions::default()
            });
        let graded = grader.run(
            Submission {
                reference: &reference,
                student: &student,
                requirements: requirements.as_deref(),
            },
            callback(on_token),
        );
        self.inner = Some(grader);
        let graded = graded.map_err(|e| JsError::new(&e.to_string()))?;
        let mut result = result_of(&graded.parsed, graded.checked);
        result.stop = Some(stop_name(&graded.generation.stop));
        result.prompt_tokens = Some(graded.generation.prompt_tokens);
        result.generated_tokens = Some(graded.generation.tokens.len());
        result.text = Some(graded.generation.text);
        Ok(json(&result))
    }

    /// Raw generation for benchmarks: `prompt` wrapped as in training, `max_tokens` unless the
    /// model ends earlier (or exactly `max_tokens` with `ignore_eos`, as long as the context
    /// lasts). Returns `{prompt_tokens, generated_tokens, stop, ids}`.
    pub fn generate(
        &mut self,
        prompt: &str,
        max_tokens: usize,
        ignore_eos: bool,
        on_token: &js_sys::Function,
    ) -> Result<String, JsError> {
        let model = self
            .inner
            .as_mut()
            .ok_or_else(|| JsError::new("the grader failed earlier"))?
            .model_mut();
        let ids = model
            .prompt_ids(prompt)
            .map_err(|e| JsError::new(&e.to_string()))?;
        let options = GenerateOptions {
            max_tokens,
            ignore_eos,
            ..GenerateOptions::default()
        };
        let generation = model
            .generate(&ids, &options, callback(on_token))
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(json(&serde_json::json!({
            "prompt_tokens": generation.prompt_tokens,
            "generated_tokens": generation.tokens.len(),
            "stop": stop_name(&generation.stop),
            "ids": ids,
        })))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_reports_syntax_and_lint_as_json() {
        let syntax: serde_json::Value =
            serde_json::from_str(&super::check("@startchen\nentity {\n@endchen\n")).unwrap();
        assert_eq!(syntax[0]["code"], "syntax");
        assert_eq!(syntax[0]["line"], 2);
        let lint: serde_json::Value =
            serde_json::from_str(&super::check("@startchen\nR -1- A\n@endchen\n")).unwrap();
        assert_eq!(lint[0]["code"], "undeclared-name");
        assert_eq!(super::check("@startchen\n@endchen\n"), "[]");
    }

    #[test]
    fn read_completion_audits_and_fills_student_paths() {
        let reference = "@startchen\nentity A {\n  b\n  c\n}\n@endchen\n";
        // The student renamed A: the finding's student element comes from the matching.
        let student = "@startchen\nentity As {\n  c\n}\n@endchen\n";
        let text = "Steps:\n1. entity A | As | missing_attribute A.b\nFindings:\n\
                    - missing_attribute | A.b | - | A lacks b.\n\
                    - missing_attribute | A.b | - | again.\n- missing_entity | Z | - | no Z.\n";
        let out: serde_json::Value = serde_json::from_str(
            &super::read_completion(text, reference, student, None).unwrap_or_default(),
        )
        .unwrap();
        assert_eq!(out["findings"].as_array().unwrap().len(), 1);
        assert_eq!(out["findings"][0]["element"], "A.b");
        assert_eq!(out["findings"][0]["student"], "As");
        assert_eq!(out["dropped"].as_array().unwrap().len(), 2);
        assert_eq!(out["complete"], true);
        assert_eq!(out["steps"], 1);
        assert!(out.get("text").is_none());
    }

    #[test]
    fn draw_reports_unparsable_text_and_draws_the_rest() {
        assert_eq!(
            super::draw("@startchen\nentity {\n@endchen\n"),
            "{\"ok\":false,\"error_lines\":[2,3]}"
        );
        assert!(super::draw("@startchen\nentity A {\n}\n@endchen\n").starts_with("{\"ok\":true"));
        // One broken line: the rest is drawn, the line named.
        let out: serde_json::Value = serde_json::from_str(&super::draw(
            "@startchen\nentity A {\n  x <<key\n}\nentity B {\n}\n@endchen\n",
        ))
        .unwrap();
        assert_eq!(out["ok"], true);
        assert_eq!(out["error_lines"], serde_json::json!([3]));
        let nodes = out["drawing"]["nodes"].as_array().unwrap();
        assert!(nodes.iter().any(|n| n["path"] == "B"), "{out}");
    }
}
