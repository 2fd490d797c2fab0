// The browser benchmark (`cargo xtask bench-web [--runs N] [--model DIR]`): in headless Chromium,
// our runtime (worker + wasm, single thread) — model load time cold and from the cache, decode
// tokens/s, time to grade an assignment-size diagram (company, one mistake) — and
// @wllama/wllama (llama.cpp in wasm) decoding the same GGUF from the same prompt (llama.cpp adds
// <|bos|> itself and reads <|prompt_end|> as the special token).
// Prints medians of N runs and the decode ratio ours / wllama.

import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// playwright-core lives in the repository's .tools/ (NODE_PATH, set by xtask).
const { chromium } = createRequire(`${process.env.NODE_PATH || '.tools/node_modules'}/`)('playwright-core');

const BASE = process.env.EERD_BASE_URL;
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const runs = Number(arg('--runs', '5'));
const decodeTokens = Number(arg('--tokens', '128'));
const model = process.env.EERD_BENCH_MODEL || (process.env.EERD_DEFAULT_MODEL === '1' ? '/models/default/' : '/models/test-tiny/');

const reference = await (await fetch(`${BASE}assignments/company/reference.puml`)).text();
const student = reference.replace(/\n {2}Salary\n/, '\n');

const profile = mkdtempSync(join(tmpdir(), 'eerd-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.EERD_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-quic', '--disable-sync'],
});
const page = context.pages()[0] || (await context.newPage());
page.on('console', (m) => { if (m.type() === 'error') console.error(`[page] ${m.text()}`); });
page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
const open = async () => {
  await page.goto(`${BASE}bench/index.html`);
  await page.locator('#state', { hasText: 'ready' }).waitFor();
};

const version = (await context.browser()?.version?.()) || 'chromium';
console.log(`model ${model}; ${runs} runs; decode ${decodeTokens} tokens; ${version}`);
await open();
const ours = await page.evaluate((a) => window.benchOurs(a), { model, runs, decodeTokens, reference, student });
const results = { ours, wllama: {} };
for (const threads of [1, 2]) {
  await open();
  try {
    results.wllama[threads] = await page.evaluate((a) => window.benchWllama(a), { model, runs, decodeTokens, promptText: `${ours.prompt}<|prompt_end|>`, threads });
  } catch (err) {
    results.wllama[threads] = { error: String(err.message || err).split('\n')[0] };
  }
}
await context.close();
rmSync(profile, { recursive: true, force: true });

const f = (x, d = 0) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));
delete ours.prompt;
console.log(JSON.stringify(results, null, 1));
console.log('\n| what | ours (eerd-web, 1 thread) | wllama 1 thread | wllama 2 threads |');
console.log('|---|---|---|---|');
const w1 = results.wllama[1] || {};
const w2 = results.wllama[2] || {};
console.log(`| model load, cold (download + init) | ${f(ours.cold_load_ms)} ms | ${f(w1.load_ms)} ms | ${f(w2.load_ms)} ms |`);
console.log(`| model load, from the Cache API | ${f(ours.warm_load_ms)} ms (init ${f(ours.init_ms)} ms) | — | — |`);
console.log(`| prompt (${ours.prompt_tokens} tokens) to first token | ${f(ours.first_token_ms)} ms | ${f(w1.prompt_ms)} ms (prefill of ${w1.prompt_tokens ?? "—"} tokens) | ${f(w2.prompt_ms)} ms |`);
console.log(`| decode tok/s (median, ${ours.decode_generated}/${w1.decode_generated ?? '—'} tokens) | ${f(ours.decode_tok_s, 1)} | ${f(w1.decode_tok_s, 1)} | ${f(w2.decode_tok_s, 1)} |`);
console.log(`| grade company (one mistake), median | ${f(ours.grade_ms)} ms (${ours.grade_generated} tokens, ${ours.grade_stop}) | — | — |`);
if (w1.decode_tok_s) console.log(`\ndecode ratio ours / wllama (1 thread): ${(ours.decode_tok_s / w1.decode_tok_s).toFixed(2)}×`);
if (w2.decode_tok_s) console.log(`decode ratio ours / wllama (2 threads): ${(ours.decode_tok_s / w2.decode_tok_s).toFixed(2)}×`);
console.log(`grade median ${(ours.grade_ms / 1000).toFixed(2)} s (goal ≤ 2 s)`);
