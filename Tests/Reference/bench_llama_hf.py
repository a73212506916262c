#!/usr/bin/env python3
"""HF transformers reference for `spikescope bench generate --model <LLaMA folder> --reference-torch`.

Loads the folder with transformers (fp32, eager attention), torch.set_num_threads(--threads),
and times greedy batch-1 decoding with its KV cache: the prompt, then --tokens new tokens, one per
forward. Prints one JSON object on stdout: tokens_per_s (best of --repeats), ms_per_token,
first_tokens, versions.
"""
import argparse
import json
import sys
import time

from decode_timing import best_of

import torch
import transformers
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--prompt", default="0,1,2,3")
ap.add_argument("--tokens", type=int, default=64)
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="eager").eval()
prompt = torch.tensor([[int(t) for t in a.prompt.split(",")]])


@torch.no_grad()
def run(n):
    out = model(prompt, use_cache=True)
    past, tok, toks = out.past_key_values, out.logits[0, -1].argmax(), []
    t0 = time.perf_counter()
    for _ in range(n):
        toks.append(int(tok))
        out = model(tok.view(1, 1), past_key_values=past, use_cache=True)
        past, tok = out.past_key_values, out.logits[0, -1].argmax()
    return time.perf_counter() - t0, toks


print(json.dumps(dict(**best_of(run, a.tokens, a.repeats), versions=dict(torch=torch.__version__, transformers=transformers.__version__))))
