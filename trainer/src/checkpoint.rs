//! Training checkpoints: one directory per saved step, written under a temporary name and
//! renamed into place, so a crash never leaves a half-written checkpoint.
//!
//! ```text
//! RUN/checkpoints/step-00000100/
//!     model.safetensors       weights under their GGUF names
//!     adapters.safetensors    LoRA adapters (LoRA runs only; the weights file is then the base)
//!     optimizer.safetensors   AdamW moments (m.NAME, v.NAME)
//!     state.json              step, model and training config, data-order position
//!     tokenizer.json          the tokenizer the model was trained with
//! RUN/checkpoints/latest      name of the newest checkpoint directory
//! ```

use crate::data::OrderState;
use crate::fsutil::write_atomic;
use crate::model::llama::tensor_shapes;
use crate::model::lora::{adapter_shapes, LoraConfig};
use crate::model::ModelConfig;
use crate::optim::AdamW;
use crate::sft::SftConfig;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Weights file in a checkpoint directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// LoRA adapters file (LoRA runs only; `model.safetensors` then holds the frozen base).
pub const ADAPTER_FILE: &str = "adapters.safetensors";
/// Optimizer state file.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Training state file.
pub const STATE_FILE: &str = "state.json";
/// Tokenizer file.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Current checkpoint format version.
pub const FORMAT: u32 = 1;

/// Everything besides tensors that a resumed run needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Checkpoint format version.
    pub format: u32,
    /// Optimizer steps completed.
    pub step: u64,
    /// The model's hyper-parameters.
    pub model: ModelConfig,
    /// The training configuration.
    pub train: SftConfig,
    /// Position in the shuffled data order.
    pub order: OrderState,
    /// Input tokens processed so far.
    pub tokens_seen: u64,
    /// Hash of the tokenized training data, to notice a changed data file on resume.
    pub data_fingerprint: u64,
}

/// The checkpoint directory of `step`.
pub fn step_dir(run_dir: &Path, step: u64) -> PathBuf {
    run_dir.join("checkpoints").join(format!("step-{step:08}"))
}

/// Writes a checkpoint atomically and points `latest` at it; keeps the newest `keep`
/// checkpoints (0 keeps all). Returns the checkpoint directory.
#[allow(clippy::too_many_arguments)]
pub fn save(
    run_dir: &Path,
    state: &TrainState,
    varmap: &VarMap,
    adapters: Option<&VarMap>,
    optimizer: &AdamW,
    tokenizer_json: &str,
    keep: usize,
) -> Result<PathBuf> {
    let state_json = serde_json::to_string_pretty(state)?;
    save_with_state(
        run_dir,
        state.step,
        &state_json,
        varmap,
        adapters,
        optimizer,
        tokenizer_json,
        keep,
    )
}

/// [`save`] with the `state.json` text given (a [`TrainState`] with extra keys, such as DPO's).
#[allow(clippy::too_many_arguments)]
pub fn save_with_state(
    run_dir: &Path,
    step: u64,
    state_json: &str,
    varmap: &VarMap,
    adapters: Option<&VarMap>,
    optimizer: &AdamW,
    tokenizer_json: &str,
    keep: usize,
) -> Result<PathBuf> {
    let dir = step_dir(run_dir, step);
    let root = run_dir.join("checkpoints");
    let tmp = root.join(format!(".tmp-step-{step:08}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .with_context(|| format!("cannot remove {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    candle_core::safetensors::save(&weights(varmap), tmp.join(MODEL_FILE))
        .with_context(|| format!("cannot write {}", tmp.join(MODEL_FILE).display()))?;
    if let Some(adapters) = adapters {
        candle_core::safetensors::save(&weights(adapters), tmp.join(ADAPTER_FILE))
            .with_context(|| format!("cannot write {}", tmp.join(ADAPTER_FILE).display()))?;
    }
    candle_core::safetensors::save(&optimizer.state_tensors()?, tmp.join(OPTIMIZER_FILE))
        .with_context(|| format!("cannot write {}", tmp.join(OPTIMIZER_FILE).display()))?;
    std::fs::write(tmp.join(STATE_FILE), state_json)?;
    std::fs::write(tmp.join(TOKENIZER_FILE), tokenizer_json)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    std::fs::rename(&tmp, &dir)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), dir.display()))?;
    let name = dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    write_atomic(&root.join("latest"), name.as_bytes())?;
    if keep > 0 {
        prune(&root, keep)?;
    }
    Ok(dir)
}

fn prune(root: &Path, keep: usize) -> Result<()> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("step-"))
        })
        .collect();
    dirs.sort();
    let excess = dirs.len().saturating_sub(keep);
    for dir in &dirs[..excess] {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

/// The weights of `varmap` by name.
pub fn weights(varmap: &VarMap) -> HashMap<String, Tensor> {
    let data = varmap.data().lock().expect("varmap lock");
    data.iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect()
}

/// The newest checkpoint of a run directory, if any.
pub fn latest(run_dir: &Path) -> Result<Option<PathBuf>> {
    let pointer = run_dir.join("checkpoints").join("latest");
    if !pointer.exists() {
        return Ok(None);
    }
    let name = std::fs::read_to_string(&pointer)
        .with_context(|| format!("cannot read {}", pointer.display()))?;
    let dir = run_dir.join("checkpoints").join(name.trim());
    if !dir.join(STATE_FILE).exists() {
        bail!(
            "{} names {}, which is not a checkpoint",
            pointer.display(),
            dir.display()
        );
    }
    Ok(Some(dir))
}

/// A checkpoint directory from a path that is either a checkpoint or a run directory (then
/// its latest checkpoint).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    if path.join(STATE_FILE).exists() {
        return Ok(path.to_path_buf());
    }
    latest(path)?.with_context(|| {
        format!(
            "{} is neither a checkpoint (no {STATE_FILE}) nor a run directory with checkpoints",
            path.display()
        )
    })
}

/// Reads a checkpoint's `state.json`.
pub fn read_state(dir: &Path) -> Result<TrainState> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let state: TrainState = serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid state", path.display()))?;
    if state.format != FORMAT {
        bail!(
            "{}: unsupported checkpoint format {}",
            path.display(),
            state.format
        );
    }
    Ok(state)
}

/// Loads a weights file into a new [`VarMap`], checking every tensor against `config`.
pub fn load_varmap(path: &Path, config: &ModelConfig, device: &Device) -> Result<VarMap> {
    let tensors = candle_core::safetensors::load(path, device)
        .with_context(|| format!("cannot read weights {}", path.display()))?;
    varmap_from(tensors, config).with_context(|| format!("{}", path.display()))
}

/// A new [`VarMap`] holding `tensors` (f32), which must match `config` exactly.
pub fn varmap_from(mut tensors: HashMap<String, Tensor>, config: &ModelConfig) -> Result<VarMap> {
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().expect("varmap lock");
        for (name, shape) in tensor_shapes(config) {
            let t = tensors
                .remove(&name)
                .with_context(|| format!("missing tensor `{name}`"))?;
            if t.dims() != shape.as_slice() {
                bail!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    t.dims()
                );
            }
            let t = t.to_dtype(candle_core::DType::F32)?;
            data.insert(name, Var::from_tensor(&t)?);
        }
    }
    if let Some(extra) = tensors.keys().next() {
        bail!("unexpected tensor `{extra}`");
    }
    Ok(varmap)
}

/// Loads a checkpoint's LoRA adapters, checking them against `config` and `lora`.
pub fn load_adapters(
    dir: &Path,
    config: &ModelConfig,
    lora: &LoraConfig,
    device: &Device,
) -> Result<VarMap> {
    let path = dir.join(ADAPTER_FILE);
    let mut tensors = candle_core::safetensors::load(&path, device)
        .with_context(|| format!("cannot read adapters {}", path.display()))?;
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().expect("varmap lock");
        for (name, shape) in adapter_shapes(config, lora) {
            let t = tensors
                .remove(&name)
                .with_context(|| format!("{}: missing tensor `{name}`", path.display()))?;
            if t.dims() != shape.as_slice() {
                bail!(
                    "{}: tensor `{name}` has shape {:?}, expected {shape:?}",
                    path.display(),
                    t.dims()
                );
            }
            data.insert(name, Var::from_tensor(&t)?);
        }
    }
    Ok(varmap)
}

/// A checkpoint's weights with any LoRA adapters merged in.
pub fn merged_weights(
    dir: &Path,
    device: &Device,
) -> Result<(TrainState, HashMap<String, Tensor>)> {
    let state = read_state(dir)?;
    let base = load_varmap(&dir.join(MODEL_FILE), &state.model, device)?;
    let weights = match &state.train.lora {
        Some(lora) => {
            let adapters = load_adapters(dir, &state.model, lora, device)?;
            crate::model::lora::merge(&weights(&base), &weights(&adapters), lora)?
        }
        None => weights(&base),
    };
    Ok((state, weights))
}

/// Loads the optimizer state of a checkpoint into `optimizer`.
pub fn load_optimizer(dir: &Path, optimizer: &mut AdamW, steps: u64) -> Result<()> {
    let path = dir.join(OPTIMIZER_FILE);
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
        .with_context(|| format!("cannot read {}", path.display()))?;
    optimizer
        .load_state(&tensors, steps)
        .with_context(|| format!("{}", path.display()))
}
