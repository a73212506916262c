#!/usr/bin/env python3
"""HF transformers outputs of all-MiniLM-L6-v2 (BertModel), the oracle for SpikeBERT with `--neuron none`.

What it is: runs 3 single sentences and 2 GLUE-style sentence pairs through the float BertModel
with HF tokenizers, and writes Tests/ModelsTests/Fixtures/spikebert/minilm_hf.safetensors with,
per case `c{i}`: input_ids / token_type_ids / attention_mask (float32, exact for these ints),
`head` = last_hidden_state of the first 3 tokens (full 384 wide) and `cols` = every token's first
16 dims (kept small: the whole file stays < 100 KB). Case c4 is padded to 24 tokens so the
attention mask is exercised. A JSON side file lists the texts.
With `--spikelm DIR` (DIR = a checkout's `spikeLM-BERT` folder of github.com/Xingrun-Xing/SpikeLM),
it also runs the authors' released spiking BertModel (T = 4, input_bits = 2, α initialised on the
input) on case c0 and stores `c0.released_t4.head` / `.cols` and two sites' α: the oracle for
"exactly as released". Shims (ours, not the authors'): `.cuda()` is a no-op on CPU, and two
helpers newer transformers removed (`get_extended_attention_mask`, `get_head_mask`) are supplied.
What it is not: a test of the tokenizer (the Swift test feeds these ids), or of spiking.

Re-run: HF_HUB_OFFLINE=1 python3 Tests/Reference/minilm_hf_fixtures.py [model dir] [--spikelm DIR]
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


def released_spiking(model_dir, spikelm_dir, enc):
    """Runs the released SpikeLM BertModel (T = 4) on one encoded input; returns hidden [L, C] and α."""
    import types
    torch.Tensor.cuda = lambda self, *a, **k: self          # CPU run
    import transformers.pytorch_utils as pu                  # names removed in newer transformers
    for name in ("find_pruneable_heads_and_indices", "prune_linear_layer"):
        if not hasattr(pu, name):
            setattr(pu, name, None)
    sys.path.insert(0, spikelm_dir)
    import spike_bert
    from transformers import BertConfig
    spike_bert.BertModel.get_extended_attention_mask = (
        lambda self, am, shape, *a: (1.0 - am[:, None, None, :].float()) * torch.finfo(torch.float32).min)
    spike_bert.BertModel.get_head_mask = lambda self, hm, n, *a: [None] * n
    cfg = BertConfig.from_pretrained(model_dir)
    cfg.T, cfg.input_bits, cfg.weight_bits, cfg.quantize_act, cfg.clip_val = 4, 2, 32, True, 2.5
    model = spike_bert.BertModel(cfg)
    from safetensors.torch import load_file
    missing, unexpected = model.load_state_dict(load_file(os.path.join(model_dir, "model.safetensors")), strict=False)
    assert not unexpected and all("clip" in k for k in missing), (missing, unexpected)
    model.eval()
    with torch.no_grad():
        h = model(**enc).last_hidden_state[0].numpy().astype(np.float32)
    l0 = model.encoder.layer[0].attention.self
    alphas = {"encoder.layer.0.attention.self.query": [float(a) for a in l0.query.act_clip_val],
              "encoder.layer.0.attention.self.value_spike": [float(a) for a in l0.clip_value]}
    return h, alphas


def main():
    args = sys.argv[1:]
    spikelm = None
    if "--spikelm" in args:
        i = args.index("--spikelm")
        spikelm = args[i + 1]
        del args[i:i + 2]
    sys.argv = sys.argv[:1] + args
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
    if spikelm:
        enc = tok(CASES[0][0], return_tensors="pt")
        h, alphas = released_spiking(model_dir, spikelm, enc)
        out["c0.released_t4.head"] = np.ascontiguousarray(h[:3])
        out["c0.released_t4.cols"] = np.ascontiguousarray(h[:, :16])
        for site, a in alphas.items():
            out[f"c0.released_t4.alpha.{site}"] = np.array(a, dtype=np.float32)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "minilm_hf.safetensors")
    save_file(out, path)
    with open(os.path.join(OUT, "minilm_hf.json"), "w") as f:
        json.dump(texts, f, indent=2)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
