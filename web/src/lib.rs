//! The browser crate. For now it exposes the instant feedback the page shows while a student
//! types: parse errors and lint diagnostics as JSON. Model grading arrives with the runtime.

use wasm_bindgen::prelude::*;

/// Parses and lints `text`; returns a JSON array of `{severity, code, line, column, message}`.
#[wasm_bindgen]
pub fn check(text: &str) -> String {
    serde_json::to_string(&eerd::check_text(text)).unwrap_or_else(|_| "[]".to_string())
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
}
