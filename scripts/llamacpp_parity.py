#!/usr/bin/env python3
"""Check that llama.cpp (PyPI `llama-cpp-python`) loads an `eerd export` GGUF file on its own
(tokenizer from the GGUF metadata) and continues prompts greedily with the same tokens as
`eerd generate`.

    pip install llama-cpp-python        # builds llama.cpp from source: slow
    python3 scripts/llamacpp_parity.py --model model.gguf --prompt "entity A { id }" [--eerd target/release/eerd]

Exit status 0 when every prompt's prompt ids and greedy continuation agree.
"""

import argparse
import json
import subprocess
import sys

from llama_cpp import Llama


def eerd_generate(eerd, model, prompt, max_tokens):
    out = subprocess.run(
        [eerd, "generate", "--model", model, "--prompt", prompt,
         "--max-tokens", str(max_tokens), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--prompt", action="append", required=True)
    p.add_argument("--eerd", default="target/release/eerd")
    p.add_argument("--max-tokens", type=int, default=48)
    a = p.parse_args()
    llm = Llama(model_path=a.model, n_ctx=1024, n_threads=1, verbose=False, logits_all=False)
    eos = llm.token_eos()
    ok = True
    for prompt in a.prompt:
        ref = eerd_generate(a.eerd, a.model, prompt, a.max_tokens)
        text = "<|bos|>" + prompt + "<|prompt_end|>"
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        same_prompt = ids == ref["prompt_ids"]
        got = []
        llm.reset()
        for tok in llm.generate(ids, temp=0.0, top_k=1, reset=True):
            got.append(tok)
            if tok == eos or len(got) >= a.max_tokens:
                break
        same = got == ref["tokens"]
        ok &= same and same_prompt
        print(f"{prompt!r}: prompt ids {'match' if same_prompt else 'DIFFER'}; "
              f"continuation {'matches' if same else 'DIFFERS'} "
              f"({len(got)} llama.cpp tokens, {len(ref['tokens'])} eerd tokens)")
        if not same:
            print(f"  llama.cpp: {got}\n  eerd:      {ref['tokens']}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
