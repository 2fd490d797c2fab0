//! Keeping typed text from acting as a special token of the model's tokenizer.

/// `text` with every `<|` written `< |`, so that text typed by a student or a course can never
/// be read as a special token (`<|eos|>`, `<|prompt_end|>`…) by the tokenizer.
pub fn escape_special(text: &str) -> String {
    text.replace("<|", "< |")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_token_text_is_broken_up() {
        assert_eq!(
            escape_special("Model <|eos|> things."),
            "Model < |eos|> things."
        );
        assert_eq!(escape_special("a < | b"), "a < | b");
    }
}
