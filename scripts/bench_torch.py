#!/usr/bin/env python3
"""Train the same llama-style model as `eerd bench train` in PyTorch (CPU) and print tok/s.

Same presets, batch, sequence length and step (forward + cross-entropy + backward + AdamW with
gradient clipping) on random tokens. Needs `pip install torch` (the PyPI wheel; it pulls the
CUDA runtime packages too, ~3 GB, but runs on CPU).

    python3 scripts/bench_torch.py --preset 8m --batch-size 4 --seq-len 256 --steps 10 --threads 1
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

PRESETS = {
    # dim, layers, heads, kv heads, ffn, tied
    "tiny": (64, 2, 4, 2, 192, False),
    "2m": (128, 4, 4, 4, 384, False),
    "8m": (256, 6, 8, 8, 1024, False),
    "24m": (512, 7, 8, 8, 1280, True),
}


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_interleaved(x, cos, sin):
    # x: (b, h, t, d); pairs (2i, 2i+1)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0 = x0 * cos - x1 * sin
    y1 = x0 * sin + x1 * cos
    return torch.stack((y0, y1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, dim, heads, kv_heads, ffn):
        super().__init__()
        hd = dim // heads
        self.heads, self.kv_heads, self.hd = heads, kv_heads, hd
        self.attn_norm = RMSNorm(dim)
        self.wq = nn.Linear(dim, heads * hd, bias=False)
        self.wk = nn.Linear(dim, kv_heads * hd, bias=False)
        self.wv = nn.Linear(dim, kv_heads * hd, bias=False)
        self.wo = nn.Linear(heads * hd, dim, bias=False)
        self.ffn_norm = RMSNorm(dim)
        self.gate = nn.Linear(dim, ffn, bias=False)
        self.up = nn.Linear(dim, ffn, bias=False)
        self.down = nn.Linear(ffn, dim, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.wk(h).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.wv(h).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        q, k = rope_interleaved(q, cos, sin), rope_interleaved(k, cos, sin)
        rep = self.heads // self.kv_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(y.transpose(1, 2).reshape(b, t, d))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, vocab, dim, layers, heads, kv_heads, ffn, tied, max_len, theta=10000.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, kv_heads, ffn) for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.out = None if tied else nn.Linear(dim, vocab, bias=False)
        hd = dim // heads
        freqs = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
        ang = torch.outer(torch.arange(max_len).float(), freqs)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.embed(ids)
        cos, sin = self.cos[:t], self.sin[:t]
        for blk in self.blocks:
            x = blk(x, cos, sin)
        x = self.norm(x)
        w = self.embed.weight if self.out is None else self.out.weight
        return x @ w.t()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="8m", choices=PRESETS)
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    dim, layers, heads, kv, ffn, tied = PRESETS[a.preset]
    model = Llama(a.vocab, dim, layers, heads, kv, ffn, tied, a.seq_len)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-4, betas=(0.9, 0.95), eps=1e-8,
    )
    n = a.batch_size * a.seq_len

    def step():
        ids = torch.randint(0, a.vocab, (a.batch_size, a.seq_len))
        targets = torch.randint(0, a.vocab, (a.batch_size, a.seq_len))
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, a.vocab), targets.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(a.warmup):
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - start
    tps = a.steps * n / secs
    if a.json:
        print(json.dumps({
            "framework": "torch", "version": torch.__version__, "preset": a.preset,
            "params": params, "batch_size": a.batch_size, "seq_len": a.seq_len,
            "threads": a.threads, "steps": a.steps, "seconds": secs, "tokens_per_s": tps,
        }))
    else:
        print(f"torch {torch.__version__}: preset {a.preset} ({params} params), batch "
              f"{a.batch_size}x{a.seq_len}, {a.threads} thread(s): {tps:.0f} tok/s "
              f"({secs / a.steps:.3f} s/step)")
    assert math.isfinite(tps)


if __name__ == "__main__":
    main()
