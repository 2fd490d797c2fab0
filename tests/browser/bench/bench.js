// Benchmark functions the node driver (tests/browser/bench.mjs) calls with page.evaluate.
import { Engine, loadWasm } from '/core.js';

const median = (xs) => {
  const s = [...xs].filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function clearModelCache() {
  for (const name of await caches.keys()) await caches.delete(name);
}

/** Our runtime: cold and warm load, raw decode, grading. */
window.benchOurs = async ({ model, runs, decodeTokens, reference, student }) => {
  const wasm = await loadWasm();
  const out = { runs };
  await clearModelCache();
  let t0 = performance.now();
  let engine = new Engine();
  await engine.load(model);
  out.cold_load_ms = performance.now() - t0;
  out.model_bytes = engine.files.bytes;
  out.context_length = engine.info.context_length;
  engine.worker.terminate();
  const warm = [];
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    engine = new Engine();
    await engine.load(model);
    warm.push(performance.now() - t0);
    if (i < runs - 1) engine.worker.terminate();
  }
  out.warm_load_ms = median(warm);
  out.init_ms = engine.initMs;
  const prompt = JSON.parse(wasm.focus_prompts(reference, student))[0];
  out.prompt = prompt;
  const decode = [];
  const prefill = [];
  let generated = 0;
  for (let i = 0; i < runs; i++) {
    const r = await engine.generate({ prompt, maxTokens: decodeTokens, ignoreEos: true });
    decode.push(r.timing.decode_tok_s);
    prefill.push(r.timing.first_token_ms);
    generated = r.generated_tokens;
    out.prompt_tokens = r.prompt_tokens;
  }
  out.decode_tok_s = median(decode);
  out.decode_runs = decode;
  out.first_token_ms = median(prefill);
  out.decode_generated = generated;
  const grade = [];
  let last = null;
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    last = await engine.grade({ reference, student, maxTokens: 64 });
    grade.push(performance.now() - t0);
  }
  out.grade_ms = median(grade);
  out.grade_runs = grade;
  out.grade_generated = last.generated_tokens;
  out.grade_stop = last.stop;
  out.grade_findings = last.findings;
  engine.worker.terminate();
  return out;
};

/** @wllama/wllama (llama.cpp in wasm) on the same GGUF and prompt ids. */
window.benchWllama = async ({ model, runs, decodeTokens, promptText, threads }) => {
  const { Wllama } = await import('/bench/wllama/index.js');
  const out = { runs, threads };
  const t0 = performance.now();
  const blob = await (await fetch(new URL('model.gguf', new URL(model, location.href)))).blob();
  const wllama = new Wllama({ default: '/bench/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true, logger: { debug() {}, log() {}, warn: console.warn, error: console.error } });
  await wllama.loadModel([blob], { n_threads: threads, n_ctx: 2048, n_gpu_layers: 0, warmup: false });
  out.load_ms = performance.now() - t0;
  out.multi_thread = wllama.isMultithread ? wllama.isMultithread() : null;
  const decode = [];
  const prefill = [];
  let generated = 0;
  for (let i = 0; i < runs; i++) {
    const r = await wllama.createCompletion({ prompt: promptText, max_tokens: decodeTokens, ignore_eos: true, temp: 0, top_k: 1, cache_prompt: false, stream: false });
    decode.push(r.timings ? r.timings.predicted_per_second : null);
    prefill.push(r.timings ? r.timings.prompt_ms : null);
    generated = r.timings ? r.timings.predicted_n : null;
    out.prompt_tokens = r.timings ? r.timings.prompt_n : null;
  }
  out.decode_tok_s = median(decode);
  out.decode_runs = decode;
  out.prompt_ms = median(prefill);
  out.decode_generated = generated;
  await wllama.exit();
  return out;
};

document.getElementById('state').textContent = 'ready';
