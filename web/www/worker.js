// The grading worker: holds the model, grades, and posts one message per generated token so the
// page never freezes. A Stop is a shared flag (Int32Array on a SharedArrayBuffer) that the
// per-token callback reads; without one, the page terminates this worker instead.
//
// Messages in:  {type: 'load', gguf, tokenizer, stop}
//               {type: 'grade', id, reference, student, maxTokens}   (maxTokens: per step)
//               {type: 'generate', id, prompt, maxTokens, ignoreEos}          (benchmarks)
// Messages out: {type: 'ready', info, ms} | {type: 'token', id, piece, count}
//               {type: 'done', id, result, timing} | {type: 'error', id, message}

import init, { Grader } from './eerd-web.js';

const ready = init({ module_or_path: new URL('eerd-web_bg.wasm', import.meta.url) });
let grader = null;
let stopFlag = null;

function run(m) {
  // The page clears the stop flag before posting the request (clearing it here would lose a
  // Stop pressed before this worker got to the request).
  const t0 = performance.now();
  let first = null;
  const onToken = (piece, count) => {
    if (first === null) first = performance.now();
    if (piece) postMessage({ type: 'token', id: m.id, piece, count });
    return stopFlag !== null && Atomics.load(stopFlag, 0) === 1;
  };
  const out = m.type === 'grade'
    ? grader.grade(m.reference, m.student, m.requirements ?? undefined, m.maxTokens, onToken)
    : grader.generate(m.prompt, m.maxTokens, m.ignoreEos === true, onToken);
  const end = performance.now();
  const result = JSON.parse(out);
  const decoded = Math.max(0, (result.generated_tokens || 0) - 1);
  const timing = {
    total_ms: end - t0,
    first_token_ms: first === null ? null : first - t0,
    decode_tok_s: first !== null && decoded > 0 ? decoded / ((end - first) / 1000) : null,
  };
  postMessage({ type: 'done', id: m.id, result, timing });
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    await ready;
    if (m.type === 'load') {
      const t0 = performance.now();
      if (grader) grader.free();
      grader = new Grader(m.gguf, m.tokenizer);
      stopFlag = m.stop ? new Int32Array(m.stop) : null;
      postMessage({ type: 'ready', info: JSON.parse(grader.info()), ms: performance.now() - t0 });
    } else if (m.type === 'grade' || m.type === 'generate') {
      if (!grader) throw new Error('no model loaded');
      run(m);
    }
  } catch (err) {
    postMessage({ type: 'error', id: m.id, message: String((err && err.message) || err) });
  }
};
