#!/usr/bin/env bash
# Checks the endpoint client (trainer/src/endpoint.rs) against a real OpenAI-compatible server:
# starts llama-cpp-python's server on an `eerd export` GGUF on a free 127.0.0.1 port, checks that
# the server tokenizes our special tokens as specials (same prompt ids as `eerd generate`), runs
# the ignored test `real_server` of trainer/tests/endpoint.rs for the completions and the chat
# API (greedy continuations compared with `eerd generate`), then stops the server.
#
#   pip install 'llama-cpp-python[server]'     # builds llama.cpp from source: slow
#   scripts/endpoint_check.sh --model model.gguf [--prompt TEXT]... [--max-tokens 32]
#
# PYTHON: the interpreter with llama-cpp-python[server] (default python3). EERD: the eerd binary
# (default: `cargo build --release`, then $CARGO_TARGET_DIR/release/eerd). EXTRA: the JSON object
# of extra request fields (default {"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}: the server
# otherwise penalises repeats even when greedy). ENDPOINT_TEST: a built test binary of
# trainer/tests/endpoint.rs to run instead of `cargo test`. Exit status 0 when the server's prompt
# ids equal eerd's and both APIs agree with `eerd generate` on at least the first characters.
#
# The chat API needs a chat template and our models have none: the server gets
# `--chat_format hf-tokenizer-config` with a template that turns the one user message into
# `<|bos|>MESSAGE<|prompt_end|>`, exactly our training format.
set -euo pipefail
cd "$(dirname "$0")/.."

model=""
prompts=()
max_tokens=32
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) model=$2; shift 2 ;;
        --prompt) prompts+=("$2"); shift 2 ;;
        --max-tokens) max_tokens=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n $model ]] || { echo "give --model model.gguf" >&2; exit 2; }
[[ -f $model ]] || { echo "no such file: $model" >&2; exit 2; }
if [[ ${#prompts[@]} -eq 0 ]]; then
    prompts=("entity EMPLOYEE { id name salary }" "entity PROJECT { budget }"
             "entity DEPARTMENT { name phone start id }")
fi
python=${PYTHON:-python3}
extra=${EXTRA:-'{"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}'}
if [[ -z ${EERD:-} ]]; then
    cargo build --quiet --release -p eerd-trainer --bin eerd
    EERD=${CARGO_TARGET_DIR:-target}/release/eerd
fi
"$python" -c 'import llama_cpp.server' 2>/dev/null || {
    echo "$python has no llama_cpp.server: pip install 'llama-cpp-python[server]'" >&2; exit 2; }

tmp=$(mktemp -d)
server=""
cleanup() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill "$server"; wait "$server" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
cat > "$tmp/chat.json" <<'JSON'
{"bos_token": "<|bos|>", "eos_token": "<|eos|>",
 "chat_template": "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}{% endif %}{% endfor %}<|prompt_end|>"}
JSON
"$python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
    --n_ctx 0 --n_threads 1 --n_threads_batch 1 \
    --chat_format hf-tokenizer-config --hf_tokenizer_config_path "$tmp/chat.json" \
    > "$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 240); do
    curl -sf "$url/v1/models" > /dev/null && break
    kill -0 "$server" 2>/dev/null || { echo "the server exited:" >&2; cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -sf "$url/v1/models" > /dev/null || { echo "the server did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
echo "server: $url (llama-cpp-python $("$python" -c 'import llama_cpp; print(llama_cpp.__version__)'), $model)"

for p in "${prompts[@]}"; do
    "$EERD" generate --model "$model" --prompt "$p" --max-tokens "$max_tokens" --json 2>/dev/null | tail -n 1
done > "$tmp/eerd.jsonl"

# Build the test cases and compare the server's tokenization of the prompt text with eerd's ids.
"$python" - "$url" "$tmp/eerd.jsonl" "$tmp/cases.json" "${prompts[@]}" <<'PY'
import json, sys, urllib.request
url, eerd_path, cases_path, prompts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
eerd = [json.loads(line) for line in open(eerd_path)]
def tokenize(text):  # the server adds <|bos|> (add_bos_token) and parses specials
    req = urllib.request.Request(url + "/extras/tokenize", json.dumps({"input": text}).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))["tokens"]
ok = True
for prompt, e in zip(prompts, eerd):
    plain = tokenize(prompt + "<|prompt_end|>")
    with_bos = tokenize("<|bos|>" + prompt + "<|prompt_end|>")
    same = plain == e["prompt_ids"]
    ok &= same
    print(f"tokenize {prompt!r}+'<|prompt_end|>': {'same ids as eerd' if same else 'DIFFERENT ids'} "
          f"({len(plain)} tokens; ends {plain[-1]}, eerd ends {e['prompt_ids'][-1]}); "
          f"with '<|bos|>' in the text: starts {with_bos[:3]} ({len(with_bos)} tokens)")
json.dump([{"prompt": p, "eerd": e} for p, e in zip(prompts, eerd)], open(cases_path, "w"))
sys.exit(0 if ok else 1)
PY

export EERD_ENDPOINT_URL=$url EERD_ENDPOINT_CASES=$tmp/cases.json EERD_ENDPOINT_EXTRA=$extra
if [[ -n ${ENDPOINT_TEST:-} ]]; then
    "$ENDPOINT_TEST" --ignored --exact real_server --nocapture
else
    cargo test --quiet -p eerd-trainer --test integration -- --ignored --exact endpoint::real_server --nocapture
fi
