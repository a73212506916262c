#!/usr/bin/env python3
"""A random LLaMA-family model of a released model's shape, for `bench generate` (issue 16).

Default: SmolLM-135M's shape (30 layers, 576 wide, 9 heads / 3 kv heads, FFN 1536, vocabulary
49152, tied embeddings), bf16, split into 2 shards with model.safetensors.index.json, written by
transformers' own save_pretrained. Random weights (std 0.02, transformers' init): the speed of a
forward does not depend on the values.
A tokenizer.json of the same vocabulary size (SentencePiece kind: <unk> <s> </s>, the 256 byte
tokens, then "▁w<i>" fillers; no merges, so text encodes through byte fallback) goes beside it, so
that llama.cpp's convert_hf_to_gguf.py accepts the folder.
Usage: python3 make_llama_shape.py OUT_DIR [--shards 2] [--dtype bfloat16]
"""
import argparse
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--shards", type=int, default=2)
ap.add_argument("--dtype", default="bfloat16")
a = ap.parse_args()
torch.manual_seed(135)
cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                  num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048, rms_norm_eps=1e-5,
                  rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
model = LlamaForCausalLM(cfg).to(getattr(torch, a.dtype))
params = sum(p.numel() for p in model.parameters())
size = params * (2 if a.dtype != "float32" else 4)
model.save_pretrained(a.out, max_shard_size=f"{size // a.shards // 1_000_000 + 1}MB", safe_serialization=True)
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(256):
    vocab[f"<0x{b:02X}>"] = len(vocab)
while len(vocab) < cfg.vocab_size:
    vocab[f"\u2581w{len(vocab)}"] = len(vocab)
tok = {"version": "1.0", "truncation": None, "padding": None,
       "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                         "normalized": False, "special": True} for t, i in [("<unk>", 0), ("<s>", 1), ("</s>", 2)]],
       "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                          {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
       "pre_tokenizer": None,
       "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                   {"Sequence": {"id": "A", "type_id": 0}}],
                          "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                   {"Sequence": {"id": "B", "type_id": 1}}],
                          "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
       "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                    {"type": "ByteFallback"}, {"type": "Fuse"},
                                                    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
       "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                 "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                 "vocab": vocab, "merges": []}}
with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
    json.dump(tok, f, ensure_ascii=False)
print(a.out, params, "parameters")
