//! Chat prompts for instruction-tuned models from elsewhere (a GGUF whose
//! `tokenizer.chat_template` is ChatML, as SmolLM2-Instruct's): a system message and a user
//! message wrapped in the template's special tokens, the answer starting after the assistant's
//! header.
//!
//! Only the ChatML form is read (`<|im_start|>role\n…<|im_end|>\n`); the Jinja text of the
//! template itself is not run. A model whose template is anything else has no chat form here
//! and is prompted as our own models are.

use candle_core::quantized::gguf_file::{Content, Value};

/// The GGUF metadata key of a model's chat template.
pub const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";

/// A chat template the runtime can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n`.
    ChatMl,
}

impl ChatTemplate {
    /// The template of a GGUF file's metadata, if it is one the runtime renders.
    pub fn from_gguf(content: &Content) -> Option<ChatTemplate> {
        match content.metadata.get(CHAT_TEMPLATE_KEY) {
            Some(Value::String(text)) => Self::recognize(text),
            _ => None,
        }
    }

    /// The template a Jinja chat template's text stands for, if the runtime renders it.
    pub fn recognize(jinja: &str) -> Option<ChatTemplate> {
        (jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>")).then_some(Self::ChatMl)
    }

    /// The text before the user's message: the system message and the user's header. It is
    /// the same for every prompt with this system message, so its KV cache can be kept.
    pub fn head(self, system: &str) -> String {
        match self {
            Self::ChatMl => format!("<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"),
        }
    }

    /// The text after the user's message: its end and the assistant's header.
    pub fn tail(self) -> &'static str {
        match self {
            Self::ChatMl => "<|im_end|>\n<|im_start|>assistant\n",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChatTemplate;

    #[test]
    fn recognizes_chatml_only() {
        let smollm = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + \
                      message['content'] + '<|im_end|>' + '\n'}}{% endfor %}";
        assert_eq!(ChatTemplate::recognize(smollm), Some(ChatTemplate::ChatMl));
        assert_eq!(
            ChatTemplate::recognize("[INST] {{ content }} [/INST]"),
            None
        );
        let head = ChatTemplate::ChatMl.head("Be brief.");
        assert_eq!(
            head,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
        );
    }
}
