//! The llama-architecture forward pass: weights repacked from a GGUF file, a KV cache that grows
//! in place, batched prefill and single-token decoding.
//!
//! Architecture as llama.cpp reads `general.architecture = llama`: RMS norms, rotary position
//! embedding on interleaved pairs (GGUF's layout), grouped-query attention, a SwiGLU
//! feed-forward block, and an output layer that may be tied to the token embedding.

use super::attention::attend;
use super::matmul::{matmul, matvec, Simd};
use super::quant::{Matrix, QuantizedVector};
use super::threads::Threads;
use super::{Result, RuntimeError};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::Device;
use std::io::Cursor;

/// The shape of a llama model, from the GGUF metadata and tensor shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Transformer blocks.
    pub layers: usize,
    /// Width of the residual stream.
    pub dim: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Width of the feed-forward block.
    pub ffn: usize,
    /// Rows of the output layer.
    pub vocab: usize,
    /// RMS norm epsilon.
    pub eps: f32,
    /// Rotary embedding base.
    pub rope_base: f32,
    /// Longest sequence.
    pub context_length: usize,
}

impl Config {
    /// Reads the shape of a llama GGUF file from its metadata and tensor shapes, with a clear
    /// error for what is missing or does not fit.
    pub fn read(content: &Content) -> Result<Self> {
        let arch = match content.metadata.get("general.architecture") {
            Some(Value::String(a)) => a.clone(),
            _ => "llama".to_string(),
        };
        if arch != "llama" {
            return Err(RuntimeError::Gguf(format!(
                "architecture `{arch}` is not supported (only `llama`)"
            )));
        }
        let rows_cols = |name: &str| -> Result<(usize, usize)> {
            match content.tensor_infos.get(name).map(|t| t.shape.dims()) {
                Some([r, c]) => Ok((*r, *c)),
                Some(dims) => Err(RuntimeError::Gguf(format!(
                    "tensor `{name}` has shape {dims:?}, expected 2 dimensions"
                ))),
                None => Err(RuntimeError::Gguf(format!("no tensor `{name}`"))),
            }
        };
        let (vocab, dim) = rows_cols("token_embd.weight")?;
        let (ffn, _) = rows_cols("blk.0.ffn_up.weight")?;
        let heads = required(content, "llama.attention.head_count")?;
        let kv_heads = metadata_usize(content, "llama.attention.head_count_kv")?.unwrap_or(heads);
        let layers = required(content, "llama.block_count")?;
        if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
            return Err(RuntimeError::Gguf(format!(
                "{heads} heads, {kv_heads} key/value heads and width {dim} do not fit together"
            )));
        }
        let head_dim = dim / heads;
        if head_dim % 2 != 0 {
            return Err(RuntimeError::Gguf(format!("odd head width {head_dim}")));
        }
        if let Some(rope) = metadata_usize(content, "llama.rope.dimension_count")? {
            if rope != head_dim {
                return Err(RuntimeError::Gguf(format!(
                    "rotary embedding over {rope} of {head_dim} head dimensions is not supported"
                )));
            }
        }
        Ok(Config {
            layers,
            dim,
            heads,
            kv_heads,
            ffn,
            vocab,
            eps: metadata_f32(content, "llama.attention.layer_norm_rms_epsilon")?.unwrap_or(1e-5),
            rope_base: metadata_f32(content, "llama.rope.freq_base")?.unwrap_or(10_000.0),
            context_length: metadata_usize(content, "llama.context_length")?.unwrap_or(4096),
        })
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: Matrix,
    wk: Matrix,
    wv: Matrix,
    wo: Matrix,
    ffn_norm: Vec<f32>,
    gate: Matrix,
    up: Matrix,
    down: Matrix,
}

/// Keys and values of the positions seen so far, `[position][kv_heads · head_dim]`.
#[derive(Default)]
struct Cache {
    k: Vec<f32>,
    v: Vec<f32>,
}

/// Buffers reused between calls.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    hq: QuantizedVector,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// A loaded llama model with its KV cache.
pub struct Llama {
    config: Config,
    embedding: Matrix,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    output: Option<Matrix>,
    caches: Vec<Cache>,
    cached: usize,
    threads: Threads,
    simd: Simd,
    scratch: Scratch,
    inv_freq: Vec<f32>,
}

/// A metadata value as an unsigned integer, whatever its integer type.
fn as_usize(v: &Value) -> Option<usize> {
    match *v {
        Value::U8(x) => Some(x as usize),
        Value::U16(x) => Some(x as usize),
        Value::U32(x) => Some(x as usize),
        Value::U64(x) => usize::try_from(x).ok(),
        Value::I8(x) => usize::try_from(x).ok(),
        Value::I16(x) => usize::try_from(x).ok(),
        Value::I32(x) => usize::try_from(x).ok(),
        Value::I64(x) => usize::try_from(x).ok(),
        _ => None,
    }
}

fn as_f32(v: &Value) -> Option<f32> {
    match *v {
        Value::F32(x) => Some(x),
        Value::F64(x) => Some(x as f32),
        _ => as_usize(v).map(|x| x as f32),
    }
}

/// Reads metadata key `key` as an unsigned integer.
pub fn metadata_usize(content: &Content, key: &str) -> Result<Option<usize>> {
    match content.metadata.get(key) {
        None => Ok(None),
        Some(v) => as_usize(v)
            .map(Some)
            .ok_or_else(|| RuntimeError::Gguf(format!("metadata `{key}` is not an integer"))),
    }
}

fn required(content: &Content, key: &str) -> Result<usize> {
    metadata_usize(content, key)?.ok_or_else(|| RuntimeError::Gguf(format!("no metadata `{key}`")))
}

fn metadata_f32(content: &Content, key: &str) -> Result<Option<f32>> {
    match content.metadata.get(key) {
        None => Ok(None),
        Some(v) => as_f32(v)
            .map(Some)
            .ok_or_else(|| RuntimeError::Gguf(format!("metadata `{key}` is not a number"))),
    }
}

fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let mean = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for ((o, &v), &w) in out.iter_mut().zip(x).zip(weight) {
        *o = v * scale * w;
    }
}

/// Multiply-adds an `exp` is worth in the threads' work estimates.
const EXP_WORK: usize = 16;

/// [`rms_norm`] of each row of `x` (rows of `weight.len()`) into `out`, rows shared by the
/// threads when there are many.
fn norm_rows(threads: &Threads, x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let dim = weight.len();
    threads.for_chunks(out, dim, 4 * x.len(), |offset, out| {
        rms_norm(&x[offset..offset + dim], weight, eps, out);
    });
}

/// SwiGLU in place: `gate = silu(gate) · up`, parts shared by the threads when there are many.
fn swiglu(threads: &Threads, gate: &mut [f32], up: &[f32]) {
    const PART: usize = 4096;
    threads.for_chunks(gate, PART, EXP_WORK * up.len(), |offset, gate| {
        for (g, &u) in gate.iter_mut().zip(&up[offset..]) {
            *g = *g / (1.0 + (-*g).exp()) * u;
        }
    });
}

impl Llama {
    /// Reads a llama GGUF file already parsed into `content` (tensor data from `bytes`).
    pub fn from_gguf(content: &Content, bytes: &[u8], threads: usize) -> Result<Self> {
        let config = Config::read(content)?;
        let Config {
            layers,
            dim,
            kv_heads,
            ffn,
            vocab,
            ..
        } = config;
        let head_dim = config.head_dim();
        let tensor = |name: &str| -> Result<Matrix> {
            let info = content
                .tensor_infos
                .get(name)
                .ok_or_else(|| RuntimeError::Gguf(format!("no tensor `{name}`")))?;
            let dims = info.shape.dims();
            let (rows, cols) = match dims {
                [c] => (1, *c),
                [r, c] => (*r, *c),
                _ => {
                    return Err(RuntimeError::Gguf(format!(
                        "tensor `{name}` has shape {dims:?}, expected 1 or 2 dimensions"
                    )))
                }
            };
            let dtype = info.ggml_dtype;
            let size = rows * cols / dtype.block_size() * dtype.type_size();
            let start = content.tensor_data_offset as usize + info.offset as usize;
            let data = bytes.get(start..start + size).ok_or_else(|| {
                RuntimeError::Gguf(format!("tensor `{name}` lies past the end of the file"))
            })?;
            Matrix::from_gguf(name, dtype, rows, cols, data, || {
                let q = info
                    .read(
                        &mut Cursor::new(bytes),
                        content.tensor_data_offset,
                        &Device::Cpu,
                    )
                    .map_err(|e| RuntimeError::Gguf(format!("tensor `{name}`: {e}")))?;
                Ok(q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1()?)
            })
        };
        let vector = |name: &str, len: usize| -> Result<Vec<f32>> {
            let m = tensor(name)?;
            if m.rows * m.cols != len {
                return Err(RuntimeError::Gguf(format!(
                    "tensor `{name}` has {} values, expected {len}",
                    m.rows * m.cols
                )));
            }
            let mut out = vec![0f32; len];
            m.rows_to_f32(0..m.rows, &mut out);
            Ok(out)
        };
        let embedding = tensor("token_embd.weight")?;
        let kv_dim = kv_heads * head_dim;
        let shaped = |name: String, rows: usize, cols: usize| -> Result<Matrix> {
            let m = tensor(&name)?;
            if (m.rows, m.cols) != (rows, cols) {
                return Err(RuntimeError::Gguf(format!(
                    "tensor `{name}` is {}×{}, expected {rows}×{cols}",
                    m.rows, m.cols
                )));
            }
            Ok(m)
        };
        let mut blocks = Vec::with_capacity(layers);
        for l in 0..layers {
            let p = |s: &str| format!("blk.{l}.{s}.weight");
            blocks.push(Layer {
                attn_norm: vector(&p("attn_norm"), dim)?,
                wq: shaped(p("attn_q"), dim, dim)?,
                wk: shaped(p("attn_k"), kv_dim, dim)?,
                wv: shaped(p("attn_v"), kv_dim, dim)?,
                wo: shaped(p("attn_output"), dim, dim)?,
                ffn_norm: vector(&p("ffn_norm"), dim)?,
                gate: shaped(p("ffn_gate"), ffn, dim)?,
                up: shaped(p("ffn_up"), ffn, dim)?,
                down: shaped(p("ffn_down"), dim, ffn)?,
            });
        }
        let norm = vector("output_norm.weight", dim)?;
        let output = if content.tensor_infos.contains_key("output.weight") {
            Some(shaped("output.weight".into(), vocab, dim)?)
        } else {
            None
        };
        let inv_freq = (0..head_dim)
            .step_by(2)
            .map(|i| 1f32 / config.rope_base.powf(i as f32 / head_dim as f32))
            .collect();
        Ok(Self {
            config,
            embedding,
            layers: blocks,
            norm,
            output,
            caches: (0..layers).map(|_| Cache::default()).collect(),
            cached: 0,
            threads: Threads::new(threads),
            simd: Simd::detect(),
            scratch: Scratch::default(),
            inv_freq,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Uses `count` threads from now on (always 1 in the browser).
    pub fn set_threads(&mut self, count: usize) {
        if count != self.threads.count() {
            self.threads = Threads::new(count);
        }
    }

    /// Threads in use.
    pub fn threads(&self) -> usize {
        self.threads.count()
    }

    /// Rotates pairs `(2i, 2i+1)` of every head of `x` (`n` rows of `heads · head_dim`).
    fn rope(x: &mut [f32], n: usize, heads: usize, head_dim: usize, cos: &[f32], sin: &[f32]) {
        let half = head_dim / 2;
        for t in 0..n {
            let (c, s) = (
                &cos[t * half..(t + 1) * half],
                &sin[t * half..(t + 1) * half],
            );
            for h in 0..heads {
                let v = &mut x[(t * heads + h) * head_dim..(t * heads + h + 1) * head_dim];
                for i in 0..half {
                    let (a, b) = (v[2 * i], v[2 * i + 1]);
                    v[2 * i] = a * c[i] - b * s[i];
                    v[2 * i + 1] = a * s[i] + b * c[i];
                }
            }
        }
    }

    /// Runs `ids` at positions `position..` (the cache keeps the positions before
    /// `position`; 0 starts a new sequence) and returns the logits after the last one.
    pub fn forward(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        let cfg = &self.config;
        let n = ids.len();
        if n == 0 {
            return Err(RuntimeError::Input("no tokens to run".into()));
        }
        if position > self.cached {
            return Err(RuntimeError::Input(format!(
                "position {position} is past the {} cached positions",
                self.cached
            )));
        }
        if position + n > cfg.context_length {
            return Err(RuntimeError::Input(format!(
                "sequence of {} tokens exceeds the context length {}",
                position + n,
                cfg.context_length
            )));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= cfg.vocab) {
            return Err(RuntimeError::Input(format!(
                "token id {bad} outside the vocabulary"
            )));
        }
        match self.simd {
            // SAFETY: `Simd::detect` chose AVX2 only when the CPU has it.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 | Simd::Avx512 => unsafe { self.forward_avx2(ids, position) },
            _ => self.forward_checked(ids, position),
        }
    }

    /// [`Llama::forward_checked`] compiled for AVX2: the norms, rotations and attention
    /// vectorize 8 wide.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        self.forward_checked(ids, position)
    }

    /// The forward pass of checked input.
    #[inline(always)]
    fn forward_checked(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        let cfg = &self.config;
        let n = ids.len();
        let (dim, hd) = (cfg.dim, cfg.head_dim());
        let kv_dim = cfg.kv_heads * hd;
        let (th, simd) = (&self.threads, self.simd);
        let s = &mut self.scratch;
        // `out (n × rows) = input (n × cols) · mᵀ`; one vector goes through its quantized form
        // `xq`, which the caller fills (once for the projections that share an input).
        let project = |m: &Matrix, input: &[f32], xq: &QuantizedVector, out: &mut Vec<f32>| {
            out.resize(n * m.rows, 0.0);
            if n == 1 {
                matvec(th, simd, m, input, xq, out);
            } else {
                matmul(th, m, input, n, out);
            }
        };
        let quantize = |xq: &mut QuantizedVector, input: &[f32]| {
            if n == 1 {
                xq.quantize(input);
            }
        };
        s.x.resize(n * dim, 0.0);
        for (t, &id) in ids.iter().enumerate() {
            self.embedding
                .row_to_f32(id as usize, &mut s.x[t * dim..(t + 1) * dim]);
        }
        let half = hd / 2;
        s.cos.resize(n * half, 0.0);
        s.sin.resize(n * half, 0.0);
        for t in 0..n {
            let p = (position + t) as f32;
            for (i, &f) in self.inv_freq.iter().enumerate() {
                let a = p * f;
                s.cos[t * half + i] = a.cos();
                s.sin[t * half + i] = a.sin();
            }
        }
        s.h.resize(n * dim, 0.0);
        s.att.resize(n * dim, 0.0);
        for (layer, cache) in self.layers.iter().zip(self.caches.iter_mut()) {
            norm_rows(th, &s.x, &layer.attn_norm, cfg.eps, &mut s.h);
            quantize(&mut s.hq, &s.h);
            project(&layer.wq, &s.h, &s.hq, &mut s.q);
            project(&layer.wk, &s.h, &s.hq, &mut s.k);
            project(&layer.wv, &s.h, &s.hq, &mut s.v);
            Self::rope(&mut s.q, n, cfg.heads, hd, &s.cos, &s.sin);
            Self::rope(&mut s.k, n, cfg.kv_heads, hd, &s.cos, &s.sin);
            cache.k.truncate(position * kv_dim);
            cache.v.truncate(position * kv_dim);
            cache.k.extend_from_slice(&s.k);
            cache.v.extend_from_slice(&s.v);
            attend(th, cfg, &s.q, &cache.k, &cache.v, position, n, &mut s.att);
            quantize(&mut s.hq, &s.att);
            project(&layer.wo, &s.att, &s.hq, &mut s.o);
            for (x, o) in s.x.iter_mut().zip(&s.o) {
                *x += o;
            }
            norm_rows(th, &s.x, &layer.ffn_norm, cfg.eps, &mut s.h);
            quantize(&mut s.hq, &s.h);
            project(&layer.gate, &s.h, &s.hq, &mut s.gate);
            project(&layer.up, &s.h, &s.hq, &mut s.up);
            swiglu(th, &mut s.gate, &s.up);
            quantize(&mut s.hq, &s.gate);
            project(&layer.down, &s.gate, &s.hq, &mut s.o);
            for (x, o) in s.x.iter_mut().zip(&s.o) {
                *x += o;
            }
        }
        self.cached = position + n;
        let last = &s.x[(n - 1) * dim..n * dim];
        rms_norm(last, &self.norm, cfg.eps, &mut s.h[..dim]);
        let output = self.output.as_ref().unwrap_or(&self.embedding);
        let mut logits = vec![0f32; cfg.vocab];
        s.hq.quantize(&s.h[..dim]);
        matvec(th, simd, output, &s.h[..dim], &s.hq, &mut logits);
        Ok(logits)
    }
}
