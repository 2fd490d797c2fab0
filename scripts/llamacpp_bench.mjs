// llama.cpp's prefill and decode speed on a GGUF (npm `node-llama-cpp`, prebuilt for this CPU):
// the peer of `eerd bench generate`. Prints one JSON line.
//
//   node scripts/llamacpp_bench.mjs --model M.gguf --ids 1,2,3 --threads 1 --decode 64 --runs 3
//
// The prompt is given as token ids so both engines run exactly the same tokens; decoding is
// greedy and goes on past the end token for `--decode` tokens.
// NODE_LLAMA_CPP may name the package's entry file (e.g. .tools/node_modules/node-llama-cpp/dist/index.js).
const { getLlama, LlamaLogLevel } = await import(process.env.NODE_LLAMA_CPP ?? "node-llama-cpp");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (fallback === undefined) throw new Error(`missing --${name}`);
    return fallback;
  }
  return process.argv[i + 1];
}

const modelPath = arg("model");
const ids = arg("ids").split(",").map(Number);
const threads = Number(arg("threads", "1"));
const decode = Number(arg("decode", "64"));
const runs = Number(arg("runs", "3"));

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const prefill = [];
const decodeRate = [];
let greedy = [];
for (let run = 0; run < runs; run++) {
  const context = await model.createContext({
    threads,
    contextSize: 2048,
    batchSize: 512,
  });
  const sequence = context.getSequence();
  const started = performance.now();
  const tokens = [];
  let firstAt = 0;
  for await (const token of sequence.evaluate(ids, { temperature: 0 })) {
    if (tokens.length === 0) firstAt = performance.now();
    tokens.push(token);
    if (tokens.length > decode) break;
  }
  const ended = performance.now();
  prefill.push(ids.length / ((firstAt - started) / 1000));
  decodeRate.push(decode / ((ended - firstAt) / 1000));
  greedy = tokens.map(Number);
  await context.dispose();
}
console.log(JSON.stringify({
  engine: "llama.cpp (node-llama-cpp 3.21.1)",
  threads,
  prompt_tokens: ids.length,
  prefill_tok_s: median(prefill),
  decode_tok_s: median(decodeRate),
  greedy,
  tokenized: model.tokenize("entity EMPLOYEE { id <<key>> }").map(Number),
}));
await model.dispose();
await llama.dispose();
