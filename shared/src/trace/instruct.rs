//! Prompt-only grading by an instruction-tuned model from elsewhere (the R2tA paper's base
//! model, drafting without any training on our traces): the same [focused steps](super::focus)
//! as our models answer, put as a chat — a system message with the task and the categories,
//! and per step a user message with the step's prompt and the categories it may name — and
//! the answer read back into a verdict.
//!
//! Reading the answer ([`read_answer`]) is answer extraction as prompt-only baselines do it,
//! no more: the first line; every category id written in it (each held to the step's path, as
//! [`FocusStep::hold_claims`] does for our models), else `ok` when the word `ok` is in it. An
//! answer with neither stays as written, and the audit counts it as malformed.

use super::focus::{verdict_text, FocusStep};
use super::Claim;
use crate::finding::Category;
use std::fmt::Write;

/// The system message of prompt-only grading: the task, the prompt's lines and the
/// categories.
pub const INSTRUCTIONS: &str = "You grade a student's entity-relationship diagram against the \
reference solution, one element at a time. Each question shows the reference's element and the \
student's matching element, written in the reference's names, so a different name is never a \
mistake. Lines: `Reference` is the reference's element; `Student` is the student's (`-`: the \
student has none); `Student also` is where else the student has it; `Student lacks` names what \
the student's diagram lacks. Answer with one line: `ok` when the student's element says the same \
as the reference's, otherwise the ids of its mistakes. Ids: missing_entity, missing_relationship, \
missing_attribute (not there), wrong_key (key marks differ), wrong_cardinality (1, N, M or max \
differs), wrong_participation (total/partial or min differs), weak_entity (weak/strong or partial \
key differs), attribute_kind (multivalued, composite or derived differs), misplaced_attribute (on \
another owner), specialization (disjoint/overlapping, total/partial or subclasses differ), \
relationship_structure (other entities or degree).";

/// The user message of one step: its prompt and the ids it may answer.
pub fn instructed_prompt(step: &FocusStep) -> String {
    let mut out = step.prompt.clone();
    out.push_str("\n\nAnswer `ok` or one of: ");
    let ids: Vec<&str> = Category::ALL
        .iter()
        .filter(|c| step.judges(**c))
        .map(|c| c.id())
        .collect();
    let _ = write!(out, "{}.", ids.join(", "));
    out
}

/// The verdict an instruction-tuned model's `answer` to `step` stands for: the claims of the
/// category ids its first line names (held to the step), `ok` when it names none but says
/// `ok`, or the first line as written when it is neither (a malformed verdict).
pub fn read_answer(step: &FocusStep, answer: &str) -> String {
    let line = answer.trim().lines().next().unwrap_or_default().trim();
    let words: Vec<String> = line
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut claims: Vec<Claim> = Vec::new();
    let mut named_any = false;
    for word in &words {
        let Some(category) = Category::ALL.iter().find(|c| c.id() == word) else {
            continue;
        };
        named_any = true;
        let claim = Claim {
            category: *category,
            element: step.reference.clone(),
        };
        if step.judges(claim.category) && !claims.contains(&claim) {
            claims.push(claim);
        }
    }
    if claims.is_empty() && !named_any && !words.iter().any(|w| w == "ok") {
        return line.to_string();
    }
    // Claims of other categories than the step's are held away, as for our models.
    verdict_text(&claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon::Lexicon;
    use crate::parse::parse;
    use crate::trace::{focus_steps, read_verdict, StepKind};

    fn steps() -> Vec<FocusStep> {
        let reference = parse(
            "@startchen\nentity EMPLOYEE {\n Ssn <<key>>\n Salary\n}\nentity DEPT {\n Dno <<key>>\n}\n\
             relationship WORKS_FOR {\n}\nEMPLOYEE -N- WORKS_FOR\nWORKS_FOR -1- DEPT\n@endchen\n",
        )
        .unwrap();
        focus_steps(&Lexicon::builtin(), &reference, &reference)
    }

    #[test]
    fn each_step_lists_only_the_categories_it_judges() {
        for step in steps() {
            let prompt = instructed_prompt(&step);
            assert!(prompt.starts_with(&step.prompt));
            let listed = |c: Category| prompt.contains(&format!(" {}", c.id()));
            for c in Category::ALL {
                assert_eq!(listed(c), step.judges(c), "{c:?} in {prompt}");
            }
        }
    }

    #[test]
    fn answers_are_read_into_verdicts_of_the_step() {
        let steps = steps();
        let attribute = steps
            .iter()
            .find(|s| s.kind == StepKind::Attribute)
            .unwrap();
        let path = attribute.reference.to_string();
        assert_eq!(read_answer(attribute, "OK."), "ok");
        assert_eq!(read_answer(attribute, "  `ok` — they agree\nmore"), "ok");
        assert_eq!(read_answer(attribute, "The answer is `ok` because"), "ok");
        assert_eq!(
            read_answer(attribute, "The answer is:\nok"),
            "The answer is:"
        );
        assert_eq!(
            read_answer(attribute, "The mistake: attribute_kind, missing_attribute"),
            format!("attribute_kind {path}; missing_attribute {path}")
        );
        // A category the step does not judge is held away, as for our models.
        assert_eq!(read_answer(attribute, "wrong_key"), "ok");
        // Neither `ok` nor a category: malformed, kept as written for the audit.
        let odd = read_answer(attribute, "The student is right about this\n");
        assert_eq!(odd, "The student is right about this");
        assert!(read_verdict(&odd).is_none());
        assert!(read_verdict(&read_answer(attribute, "misplaced_attribute")).is_some());
    }
}
