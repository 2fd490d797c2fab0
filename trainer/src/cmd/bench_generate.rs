//! `eerd bench generate --model M.gguf`: prefill and decode speed of the runtime, beside
//! llama.cpp's on the same GGUF, prompt and thread count (`--llamacpp`), and a check that the
//! runtime's greedy tokens equal those of candle's `quantized_llama`, the runtime before its
//! own kernels (`--check`).

use anyhow::{bail, Context, Result};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use eerd::runtime::{GenerateOptions, Model};
use eerd_trainer::model_files::ModelFiles;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The default prompt: an assignment text of about 150 tokens.
const PROMPT: &str = "A company keeps track of its employees, departments and projects. Each \
department has a unique number, a name and one or more locations; an employee manages the \
department from a start date. Each employee has a social security number, a name made of first \
and last name, an address, a salary, a sex and a birth date. An employee works for one \
department but may work on several projects, which need not be controlled by the same \
department; the hours per week an employee works on each project are recorded. Each project has \
a unique name and number and a single location. Employees may have dependents, identified by \
their first name, with a sex, a birth date and a relationship to the employee.";

/// Short prompts of the greedy-token check, beside the main one.
const CHECK_PROMPTS: [&str; 5] = [
    "entity EMPLOYEE { ssn <<key>> name salary }",
    "The capital of France is",
    "Write one sentence about databases:",
    "def fibonacci(n):",
    "Once upon a time, in a small village,",
];

/// Arguments of `eerd bench generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The GGUF model.
    #[arg(long)]
    model: PathBuf,
    /// The tokenizer (default: the GGUF's own, else `tokenizer.json` beside the model).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// A file holding the prompt, run as is (default: a built-in assignment text).
    #[arg(long)]
    prompt_file: Option<PathBuf>,
    /// Thread counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,
    /// Tokens decoded after the prompt (greedy, past the end token).
    #[arg(long, default_value_t = 64)]
    decode: usize,
    /// Runs per engine and thread count; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also run llama.cpp: the path of `scripts/llamacpp_bench.mjs` (needs node and the npm
    /// package `node-llama-cpp`; `NODE_LLAMA_CPP` may name its entry file).
    #[arg(long)]
    llamacpp: Option<PathBuf>,
    /// Compare greedy tokens with candle's `quantized_llama` on six prompts.
    #[arg(long)]
    check: bool,
    /// With `--check`: an F32 GGUF of the same weights (`eerd export --gguf M --quant f32`);
    /// both engines' greedy tokens are also compared with the exact model's.
    #[arg(long, requires = "check")]
    exact: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// One engine's speeds at one thread count.
#[derive(Clone, Debug, serde::Serialize)]
struct Speed {
    engine: String,
    threads: usize,
    prefill_tok_s: f64,
    decode_tok_s: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Times one greedy generation: (prefill tok/s, decode tok/s, tokens).
fn time_ours(model: &mut Model, ids: &[u32], decode: usize) -> Result<(f64, f64, Vec<u32>)> {
    let options = GenerateOptions {
        max_tokens: decode + 1,
        ignore_eos: true,
        ..Default::default()
    };
    let started = Instant::now();
    let mut first = None;
    let out = model.generate(ids, &options, |e| {
        if e.count == 1 && first.is_none() {
            first = Some(Instant::now());
        }
        ControlFlow::Continue(())
    })?;
    let ended = Instant::now();
    let first = first.context("no token generated")?;
    Ok((
        ids.len() as f64 / (first - started).as_secs_f64(),
        decode as f64 / (ended - first).as_secs_f64(),
        out.tokens,
    ))
}

/// candle's `quantized_llama` on the GGUF file `path` (the runtime before its own kernels).
fn reference_model(path: &Path) -> Result<ModelWeights> {
    let gguf = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = std::io::Cursor::new(&gguf[..]);
    let content = gguf_file::Content::read(&mut reader)?;
    Ok(ModelWeights::from_gguf(content, &mut reader, &Device::Cpu)?)
}

/// Greedy tokens from candle's `quantized_llama` (position 0 starts a new sequence).
fn reference_tokens(model: &mut ModelWeights, ids: &[u32], count: usize) -> Result<Vec<u32>> {
    let mut tokens = Vec::new();
    let mut input = ids.to_vec();
    let mut position = 0;
    for _ in 0..count {
        let x = Tensor::new(input.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
        let logits: Vec<f32> = model.forward(&x, position)?.squeeze(0)?.to_vec1()?;
        position += input.len();
        let next = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i as u32)
            .context("empty logits")?;
        tokens.push(next);
        input = vec![next];
    }
    Ok(tokens)
}

fn run_llamacpp(
    script: &Path,
    model: &Path,
    ids: &[u32],
    threads: usize,
    a: &GenerateArgs,
) -> Result<(Speed, Vec<u32>)> {
    let ids_arg = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let out = std::process::Command::new("node")
        .arg(script)
        .args(["--model", &model.display().to_string()])
        .args(["--ids", &ids_arg])
        .args(["--threads", &threads.to_string()])
        .args(["--decode", &a.decode.to_string()])
        .args(["--runs", "1"])
        .output()
        .context("cannot run node (needed for --llamacpp)")?;
    if !out.status.success() {
        bail!(
            "llama.cpp bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .last()
        .context("llama.cpp bench printed nothing")?;
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("llama.cpp bench printed {line:?}"))?;
    let greedy = v["greedy"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_u64())
                .map(|t| t as u32)
                .collect()
        })
        .unwrap_or_default();
    Ok((
        Speed {
            engine: "llama.cpp".into(),
            threads,
            prefill_tok_s: v["prefill_tok_s"].as_f64().unwrap_or(0.0),
            decode_tok_s: v["decode_tok_s"].as_f64().unwrap_or(0.0),
        },
        greedy,
    ))
}

/// Runs `eerd bench generate`.
pub fn bench_generate(a: GenerateArgs) -> Result<ExitCode> {
    if a.runs == 0 || a.decode == 0 || a.threads.contains(&0) {
        bail!("--runs, --decode and every --threads value must be at least 1");
    }
    let prompt = match &a.prompt_file {
        Some(f) => super::input::read_text(f)?,
        None => PROMPT.to_string(),
    };
    let mut model = ModelFiles::read(&a.model, a.tokenizer.as_deref())?.load()?;
    let mut ids = model.encode(&prompt)?;
    let room = model.context_length().saturating_sub(a.decode + 1);
    if room == 0 {
        bail!(
            "--decode {} leaves no room for a prompt in the context of {} tokens",
            a.decode,
            model.context_length()
        );
    }
    if ids.len() > room {
        eprintln!(
            "note: the prompt's {} tokens are cut to their first {room}, to fit the context of {} \
             tokens with {} decoded",
            ids.len(),
            model.context_length(),
            a.decode
        );
        ids.truncate(room);
    }
    eprintln!(
        "{}: {} prompt tokens, {} decoded, {} runs; kernels {:?}",
        a.model.display(),
        ids.len(),
        a.decode,
        a.runs,
        eerd::runtime::Simd::detect()
    );
    let mut speeds = Vec::new();
    let mut llama_greedy = None;
    let mut ours_greedy = Vec::new();
    for &threads in &a.threads {
        model.set_threads(threads);
        let (mut ours_p, mut ours_d, mut peer_p, mut peer_d) = (vec![], vec![], vec![], vec![]);
        for _ in 0..a.runs {
            let (p, d, tokens) = time_ours(&mut model, &ids, a.decode)?;
            ours_p.push(p);
            ours_d.push(d);
            ours_greedy = tokens;
            if let Some(script) = &a.llamacpp {
                let (s, greedy) = run_llamacpp(script, &a.model, &ids, threads, &a)?;
                peer_p.push(s.prefill_tok_s);
                peer_d.push(s.decode_tok_s);
                llama_greedy = Some(greedy);
            }
        }
        speeds.push(Speed {
            engine: "eerd".into(),
            threads,
            prefill_tok_s: median(ours_p),
            decode_tok_s: median(ours_d),
        });
        if a.llamacpp.is_some() {
            speeds.push(Speed {
                engine: "llama.cpp".into(),
                threads,
                prefill_tok_s: median(peer_p),
                decode_tok_s: median(peer_d),
            });
        }
    }
    let prefix = |a: &[u32], b: &[u32]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let agree_llamacpp = llama_greedy
        .as_deref()
        .map(|g: &[u32]| prefix(g, &ours_greedy));
    let mut checks = Vec::new();
    let mut exact = match &a.exact {
        Some(path) => Some(ModelFiles::read(path, a.tokenizer.as_deref())?.load()?),
        None => None,
    };
    let greedy = |m: &mut Model, ids: &[u32], count: usize| -> Result<Vec<u32>> {
        Ok(m.generate(
            ids,
            &GenerateOptions {
                max_tokens: count,
                ignore_eos: true,
                ..Default::default()
            },
            |_| ControlFlow::Continue(()),
        )?
        .tokens)
    };
    let mut exact_agreement = (0, 0, 0);
    if a.check {
        let mut reference_model = reference_model(&a.model)?;
        model.set_threads(1);
        for text in std::iter::once(prompt.as_str()).chain(CHECK_PROMPTS) {
            let count = a.decode.min(32);
            let mut ids = model.encode(text)?;
            ids.truncate(model.context_length().saturating_sub(count + 1).max(1));
            let ours = greedy(&mut model, &ids, count)?;
            let reference = reference_tokens(&mut reference_model, &ids, count)?;
            checks.push((
                text.chars().take(40).collect::<String>(),
                prefix(&ours, &reference),
                count,
            ));
            if let Some(exact) = exact.as_mut() {
                let truth = greedy(exact, &ids, count)?;
                exact_agreement.0 += prefix(&ours, &truth);
                exact_agreement.1 += prefix(&reference, &truth);
                exact_agreement.2 += count;
            }
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": a.model.display().to_string(),
                "prompt_tokens": ids.len(),
                "decode": a.decode,
                "runs": a.runs,
                "speeds": speeds,
                "greedy_prefix_equal_to_llamacpp": agree_llamacpp,
                "exact_agreement": a.exact.as_ref().map(|_| serde_json::json!({"ours": exact_agreement.0, "candle": exact_agreement.1, "tokens": exact_agreement.2})),
                "reference_check": checks.iter().map(|(p, s, c)| serde_json::json!({"prompt": p, "equal_prefix": s, "tokens": c})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("engine     threads  prefill tok/s  decode tok/s");
        for s in &speeds {
            println!(
                "{:<10} {:>7}  {:>13.1}  {:>12.1}",
                s.engine, s.threads, s.prefill_tok_s, s.decode_tok_s
            );
        }
        if a.llamacpp.is_some() {
            for &t in &a.threads {
                let ours = speeds.iter().find(|s| s.engine == "eerd" && s.threads == t);
                let peer = speeds
                    .iter()
                    .find(|s| s.engine == "llama.cpp" && s.threads == t);
                if let (Some(o), Some(p)) = (ours, peer) {
                    println!(
                        "ours ÷ llama.cpp, {t} thread(s): prefill {:.2}×, decode {:.2}×",
                        o.prefill_tok_s / p.prefill_tok_s,
                        o.decode_tok_s / p.decode_tok_s
                    );
                }
            }
        }
        if let Some(n) = agree_llamacpp {
            println!(
                "greedy tokens equal to llama.cpp's for the first {n} of {}",
                ours_greedy
                    .len()
                    .min(llama_greedy.as_ref().map_or(0, Vec::len))
            );
        }
        for (p, same, count) in &checks {
            println!("greedy tokens equal to candle quantized_llama: {same}/{count} ({p:?})");
        }
        if a.exact.is_some() {
            let (ours, candle, total) = exact_agreement;
            println!(
                "greedy tokens equal to the exact (F32) model's, summed over the prompts: ours \
                 {ours}/{total}, candle quantized_llama {candle}/{total}"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
