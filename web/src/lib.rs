//! The browser crate. For now it exposes the instant feedback the page shows while a student
//! types: parse errors and lint diagnostics as JSON. Model grading arrives with the runtime.

use wasm_bindgen::prelude::*;

/// Parses and lints `text`; returns a JSON array of `{severity, code, line, column, message}`.
#[wasm_bindgen]
pub fn check(text: &str) -> String {
    serde_json::to_string(&eerd_check_json(text)).unwrap_or_else(|_| "[]".to_string())
}

/// The diagnostics of `text` as JSON values (parse errors first become `syntax` errors).
pub fn eerd_check_json(text: &str) -> Vec<serde_json::Value> {
    match eerd::parse(text) {
        Ok(diagram) => eerd::lint(&diagram)
            .into_iter()
            .filter_map(|d| serde_json::to_value(d).ok())
            .collect(),
        Err(errors) => errors
            .0
            .into_iter()
            .map(|e| {
                serde_json::json!({
                    "severity": "error",
                    "code": "syntax",
                    "line": e.line,
                    "column": e.column,
                    "message": format!("expected {}, found {}", e.expected, e.found),
                })
            })
            .collect(),
    }
}
