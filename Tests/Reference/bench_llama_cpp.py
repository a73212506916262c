#!/usr/bin/env python3
"""llama.cpp reference for the LLaMA generation table of BENCHMARKS.md (issue 16).

Times greedy batch-1 decoding of a GGUF file with llama-cpp-python (`pip install
llama-cpp-python` builds llama.cpp from source; convert the HF folder with llama.cpp's own
`convert_hf_to_gguf.py --outtype bf16`, shipped in the package's source distribution under
vendor/llama.cpp). Prints one JSON object: tokens_per_s (best of --repeats), ms_per_token,
first_tokens, version.
Usage: bench_llama_cpp.py --gguf FILE [--prompt 1,2,3,4] [--tokens 64] [--repeats 3] [--threads 2]
"""
import argparse
import json
import time

from decode_timing import best_of

import llama_cpp

ap = argparse.ArgumentParser()
ap.add_argument("--gguf", required=True)
ap.add_argument("--prompt", default="1,2,3,4")
ap.add_argument("--tokens", type=int, default=64)
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
llm = llama_cpp.Llama(model_path=a.gguf, n_threads=a.threads, n_threads_batch=a.threads, n_ctx=512, logits_all=True, verbose=False)
prompt = [int(t) for t in a.prompt.split(",")]


def run(n):
    llm.reset()
    llm.eval(prompt)
    toks = []
    t0 = time.perf_counter()
    for _ in range(n):
        tok = int(llm.scores[llm.n_tokens - 1].argmax())
        toks.append(tok)
        llm.eval([tok])
    return time.perf_counter() - t0, toks


print(json.dumps(dict(**best_of(run, a.tokens, a.repeats), version=llama_cpp.__version__, threads=a.threads)))
