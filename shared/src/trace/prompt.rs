//! The prompt: task header, the two diagrams in compact form, optionally the requirements.

use crate::compact::compact;
use crate::model::Diagram;

/// The first line of every prompt.
pub const TASK_HEADER: &str = "Grade the student's EER diagram against the reference.";

/// `text` with every `<|` written `< |`, so that text typed by a student or a course can never
/// be read as a special token (`<|eos|>`, `<|prompt_end|>`…) by the tokenizer.
pub fn escape_special(text: &str) -> String {
    text.replace("<|", "< |")
}

/// The prompt for grading `student` against `reference` (the requirements are included when
/// given; they cost many tokens, so the default model is trained without them).
pub fn prompt(reference: &Diagram, student: &Diagram, requirements: Option<&str>) -> String {
    let mut out = String::new();
    out.push_str(TASK_HEADER);
    out.push('\n');
    if let Some(text) = requirements {
        out.push_str("Requirements:\n");
        out.push_str(text.trim());
        out.push('\n');
    }
    out.push_str("Reference:\n");
    out.push_str(&compact(reference));
    out.push_str("Student:\n");
    out.push_str(&compact(student));
    escape_special(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn prompt_holds_both_compact_diagrams() {
        let reference = parse("@startchen\nentity A {\n  Id <<key>>\n}\n@endchen\n").unwrap();
        let student = parse("@startchen\nentity B {\n  Id\n}\n@endchen\n").unwrap();
        let text = prompt(&reference, &student, None);
        assert_eq!(
            text,
            format!("{TASK_HEADER}\nReference:\nE A: *Id\nStudent:\nE B: Id\n")
        );
        let with = prompt(&reference, &student, Some("Model <|eos|> things.\n"));
        assert!(with.contains("Requirements:\nModel < |eos|> things.\nReference:"));
    }
}
