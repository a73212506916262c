#!/usr/bin/env python3
"""HF transformers outputs of all-MiniLM-L6-v2 (BertModel), the oracle for SpikeBERT with `--neuron none`.

What it is: runs 3 single sentences and 2 GLUE-style sentence pairs through the float BertModel
with HF tokenizers, and writes Tests/ModelsTests/Fixtures/spikebert/minilm_hf.safetensors with,
per case `c{i}`: input_ids / token_type_ids / attention_mask (float32, exact for these ints),
`head` = last_hidden_state of the first 3 tokens (full 384 wide) and `cols` = every token's first
16 dims (kept small: the whole file stays < 100 KB). Case c4 is padded to 24 tokens so the
attention mask is exercised. A JSON side file lists the texts.
What it is not: a test of the tokenizer (the Swift test feeds these ids), or of spiking.

Re-run: HF_HUB_OFFLINE=1 python3 Tests/Reference/minilm_hf_fixtures.py [model dir]
(default model dir: <package root>/.downloads/minilm, else /work/main/.downloads/minilm)
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoTokenizer, BertModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "spikebert")

CASES = [
    ("The quick brown fox jumps over the lazy dog.", None),
    ("Spiking neurons fire sparse ternary events instead of dense activations.", None),
    ("I loved this film, although the ending felt rushed.", None),
    ("A man is playing a guitar on stage.", "Someone performs music in front of an audience."),
    ("The company reported higher profits this quarter.", "Earnings fell sharply compared with last year."),
]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else next(
        d for d in (os.path.join(ROOT, ".downloads", "minilm"), "/work/main/.downloads/minilm") if os.path.isdir(d))
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    out, texts = {}, []
    for i, (a, b) in enumerate(CASES):
        kw = dict(padding="max_length", max_length=24) if i == 4 else {}
        enc = tok(a, b, return_tensors="pt", **kw) if b else tok(a, return_tensors="pt", **kw)
        with torch.no_grad():
            h = model(**enc).last_hidden_state[0].numpy().astype(np.float32)
        out[f"c{i}.input_ids"] = enc["input_ids"][0].numpy().astype(np.float32)
        out[f"c{i}.token_type_ids"] = enc["token_type_ids"][0].numpy().astype(np.float32)
        out[f"c{i}.attention_mask"] = enc["attention_mask"][0].numpy().astype(np.float32)
        out[f"c{i}.head"] = np.ascontiguousarray(h[:3])
        out[f"c{i}.cols"] = np.ascontiguousarray(h[:, :16])
        texts.append({"case": f"c{i}", "text": a, "text_pair": b, "tokens": len(enc["input_ids"][0])})
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "minilm_hf.safetensors")
    save_file(out, path)
    with open(os.path.join(OUT, "minilm_hf.json"), "w") as f:
        json.dump(texts, f, indent=2)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
