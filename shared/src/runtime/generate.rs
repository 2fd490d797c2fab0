//! KV-cached generation with stop sequences, streaming text pieces and cancellation.

use super::model::Model;
use super::sampling::{Sampler, Sampling};
use super::{Result, RuntimeError};
use std::ops::ControlFlow;

/// Settings of one generation.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Stop as soon as the text contains one of these (the stop text is not returned).
    pub stop: Vec<String>,
    /// Go on past the end token (benchmarks that need a fixed number of tokens).
    pub ignore_eos: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            sampling: Sampling::Greedy,
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

/// One step of generation, given to the callback.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenEvent<'a> {
    /// The token just generated; `None` for the final flush of held-back text.
    pub token: Option<u32>,
    /// Text that became final with this token (may be empty: a partial UTF-8 character or a
    /// possible start of a stop sequence is held back). The pieces concatenate to
    /// [`Generation::text`].
    pub text: &'a str,
    /// Number of tokens generated so far.
    pub count: usize,
}

/// Why generation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end-of-sequence token.
    Eos,
    /// The text reached this stop sequence.
    StopSequence(String),
    /// `max_tokens` were generated.
    MaxTokens,
    /// The context window is full.
    ContextFull,
    /// The callback returned `ControlFlow::Break`.
    Cancelled,
}

/// The result of a generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The generated text (without the end token or stop sequence).
    pub text: String,
    /// The generated token ids (the end token included if one was produced).
    pub tokens: Vec<u32>,
    /// Why it stopped.
    pub stop: StopReason,
    /// Number of prompt tokens.
    pub prompt_tokens: usize,
}

/// Length of the longest suffix of `text` that is a proper prefix of some stop sequence.
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut best = 0;
    for s in stops {
        for len in (1..s.len()).rev() {
            if len <= best {
                break;
            }
            if text.len() >= len && text.as_bytes()[text.len() - len..] == s.as_bytes()[..len] {
                best = len;
                break;
            }
        }
    }
    best
}

impl Model {
    /// Generates a continuation of `prompt` (token ids, e.g. from [`Model::prompt_ids`]),
    /// calling `on_token` after every token; a `Break` from it cancels.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        options: &GenerateOptions,
        mut on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<Generation> {
        if prompt.is_empty() {
            return Err(RuntimeError::Input("empty prompt".into()));
        }
        if options.stop.iter().any(|s| s.is_empty()) {
            return Err(RuntimeError::Input("empty stop sequence".into()));
        }
        let mut sampler = Sampler::new(options.sampling.clone());
        let mut logits = self.prefill(prompt)?;
        let mut tokens = Vec::new();
        let mut emitted = 0usize;
        let mut text = String::new();
        let stop = loop {
            if tokens.len() >= options.max_tokens {
                break StopReason::MaxTokens;
            }
            let id = sampler.sample(&logits);
            tokens.push(id);
            if !options.ignore_eos && self.eos.contains(&id) {
                break StopReason::Eos;
            }
            let ids = &tokens[..tokens.len()];
            text = self.decode(ids)?;
            if let Some((at, s)) = options
                .stop
                .iter()
                .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
                .min()
            {
                text.truncate(at);
                let piece = &text[emitted.min(at)..];
                let _ = on_token(&TokenEvent {
                    token: Some(id),
                    text: piece,
                    count: tokens.len(),
                });
                emitted = text.len();
                break StopReason::StopSequence(s.clone());
            }
            let mut safe = text.trim_end_matches('\u{FFFD}').len();
            safe -= held_back(&text[..safe], &options.stop);
            let safe = safe.max(emitted);
            let flow = on_token(&TokenEvent {
                token: Some(id),
                text: &text[emitted..safe],
                count: tokens.len(),
            });
            emitted = safe;
            if flow.is_break() {
                break StopReason::Cancelled;
            }
            let position = prompt.len() + tokens.len() - 1;
            if position + 1 > self.context_length {
                break StopReason::ContextFull;
            }
            logits = self.step(&[id], position)?;
        };
        if let StopReason::Eos = stop {
            text = self.decode(&tokens[..tokens.len() - 1])?;
        }
        if emitted < text.len() {
            let _ = on_token(&TokenEvent {
                token: None,
                text: &text[emitted..],
                count: tokens.len(),
            });
        }
        Ok(Generation {
            text,
            tokens,
            stop,
            prompt_tokens: prompt.len(),
        })
    }

    /// Generates a continuation of `prompt` text wrapped by [`Model::prompt_ids`], without a
    /// callback.
    pub fn complete(&mut self, prompt: &str, options: &GenerateOptions) -> Result<Generation> {
        let ids = self.prompt_ids(prompt)?;
        self.generate(&ids, options, |_| ControlFlow::Continue(()))
    }
}

#[cfg(test)]
mod tests {
    use super::held_back;

    #[test]
    fn holds_back_possible_stop_prefixes() {
        let stops = vec!["@end".to_string(), "\n\n".to_string()];
        assert_eq!(held_back("abc @e", &stops), 2);
        assert_eq!(held_back("abc\n", &stops), 1);
        assert_eq!(held_back("abc", &stops), 0);
        assert_eq!(held_back("", &stops), 0);
    }
}
