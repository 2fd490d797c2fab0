//! What a changed pipeline configuration invalidates in a run folder.
//!
//! Each section of the configuration feeds one stage first ([`first_stage_of`]); a change
//! invalidates that stage and every later one, and leaves earlier stages' artefacts valid. So
//! changing `[dpo]` of a finished run reruns only `dpo` and `eval`.

use super::pipeline::{PipelineConfig, STAGES};
use anyhow::{Context, Result};
use std::path::Path;

/// The first stage that reads configuration section `section` (a top-level key of the TOML),
/// or `None` for settings that do not change any result (`workers`).
pub fn first_stage_of(section: &str) -> Option<&'static str> {
    Some(match section {
        "seed" | "data" => "data",
        "model" => "tokenizer",
        "warmup" => "base",
        "drafts" => "drafts",
        "sft" | "augment" => "sft",
        "samples" => "samples",
        "dpo" => "dpo",
        "eval" => "eval",
        _ => return None,
    })
}

/// What changed between two configurations: the changed sections, and the first stage any of
/// them invalidates (`None` when nothing that matters changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The changed top-level sections, in file order.
    pub sections: Vec<String>,
    /// The first invalidated stage.
    pub first_stage: Option<&'static str>,
}

/// The change from `before` to `after`.
pub fn change(before: &PipelineConfig, after: &PipelineConfig) -> Result<Change> {
    let table = |c: &PipelineConfig| -> Result<toml::Table> {
        toml::Table::try_from(c).context("configuration as a TOML table")
    };
    let (a, b) = (table(before)?, table(after)?);
    let mut sections = Vec::new();
    for key in a.keys().chain(b.keys()) {
        if a.get(key) != b.get(key) && !sections.contains(key) {
            sections.push(key.clone());
        }
    }
    let first_stage = sections
        .iter()
        .filter_map(|s| first_stage_of(s))
        .min_by_key(|stage| stage_index(stage));
    Ok(Change {
        sections,
        first_stage,
    })
}

/// The position of `stage` in [`STAGES`].
pub fn stage_index(stage: &str) -> usize {
    STAGES
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(STAGES.len())
}

/// The files and folders of a run that `stage` writes.
pub fn outputs(stage: &str) -> &'static [&'static str] {
    match stage {
        "data" => &["data"],
        "tokenizer" => &["tokenizer.json"],
        "base" => &["warmup.jsonl", "base"],
        "drafts" => &["drafts"],
        "refine" => &["refine"],
        "sft" => &["sft"],
        "samples" => &["samples", "pairs.jsonl"],
        "dpo" => &["dpo"],
        "eval" => &["eval"],
        _ => &[],
    }
}

/// Removes the artefacts of `from` and every later stage from the run folder `dir`.
pub fn remove_outputs_from(dir: &Path, from: &str) -> Result<()> {
    for stage in &STAGES[stage_index(from)..] {
        for name in outputs(stage) {
            let path = dir.join(name);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else if path.exists() {
                std::fs::remove_file(&path)
            } else {
                Ok(())
            };
            removed.with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_and_stage_is_mapped() {
        let table = toml::Table::try_from(PipelineConfig::default()).unwrap();
        for key in table.keys() {
            assert!(
                first_stage_of(key).is_some() || key == "workers",
                "section {key} feeds no stage"
            );
        }
        for stage in STAGES {
            assert!(!outputs(stage).is_empty(), "{stage} has no outputs");
        }
    }

    #[test]
    fn a_change_invalidates_its_first_stage() {
        let before = PipelineConfig::default();
        let mut after = before.clone();
        assert_eq!(change(&before, &after).unwrap().first_stage, None);
        after.workers += 1;
        let c = change(&before, &after).unwrap();
        assert_eq!((c.sections, c.first_stage), (vec!["workers".into()], None));
        after.dpo.beta *= 2.0;
        after.eval.max_tokens += 1;
        let c = change(&before, &after).unwrap();
        assert_eq!(c.first_stage, Some("dpo"));
        after.seed += 1;
        assert_eq!(change(&before, &after).unwrap().first_stage, Some("data"));
    }
}
