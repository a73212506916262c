#!/usr/bin/env python3
"""HF transformers BertModel speed on the inputs `spikescope bench bert` uses (its --reference-hf).

What it is: the PyTorch baseline for issue 9's BERT target: BertModel from the same folder
(config.json + model.safetensors), fp32, torch.no_grad(), torch.set_num_threads(THREADS),
HF_HUB_OFFLINE=1. Times a batch-1 sentence of --tokens ids and a --batch × --seq batch, best of
--runs after 2 warm-up calls, and prints one JSON line:
  {"sentences_per_s": .., "tokens_per_s": .., "torch": "2.x", "transformers": "4.x", "threads": 2}
Input ids follow the same formula as BenchBERT.swift (benchIDs): [CLS] = 101, then
1000 + ((b·131 + i)·7919) mod (vocab − 1000), then [SEP] = 102; attention mask all ones.
What it is not: a correctness check (minilm_hf_fixtures.py and the MiniLM tests do that).

Usage: bench_bert_hf.py MODEL_DIR [--tokens 32] [--batch 32] [--seq 128] [--runs 5] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def bench_ids(batch, length, vocab):
    rows = []
    for b in range(batch):
        row = [101] + [1000 + ((b * 131 + i) * 7919) % (vocab - 1000) for i in range(1, length - 1)] + [102]
        rows.append(row[:length])
    return rows


def best_seconds(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--batch-runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    try:
        import torch
        import transformers
        from transformers import BertModel
    except Exception as e:  # reported, not raised: the Swift side prints a note
        print(json.dumps({"error": "torch/transformers not importable: %s" % e}))
        return 0
    torch.set_num_threads(a.threads)
    model = BertModel.from_pretrained(a.model_dir, torch_dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    one = torch.tensor(bench_ids(1, a.tokens, vocab), dtype=torch.long)
    many = torch.tensor(bench_ids(a.batch, a.seq, vocab), dtype=torch.long)
    with torch.no_grad():
        s1 = best_seconds(lambda: model(input_ids=one, attention_mask=torch.ones_like(one)), a.runs)
        sb = best_seconds(lambda: model(input_ids=many, attention_mask=torch.ones_like(many)), a.batch_runs, warmup=1)
    print(json.dumps({"sentences_per_s": 1.0 / s1, "tokens_per_s": a.batch * a.seq / sb,
                      "sentence_ms": s1 * 1e3, "batch_ms": sb * 1e3,
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
