#!/usr/bin/env python3
"""PyTorch reference for `spikescope bench generate --reference-torch` (issue 9).

What it is: runs the OFFICIAL SpikeGPT recurrent inference code (ridgerchu/SpikeGPT
`src/model_run.py`, class RWKV_RNN) on the weights of a safetensors file, fp32, batch 1,
`torch.set_num_threads(2)`, greedy, and prints one JSON object on stdout:
  {"tokens_per_s", "ms_per_token", "tokens" (greedy ids of the best run), "check": {...}}
`check` is a second run of the same code with its fp16 rescaling switched off
(RWKV_RESCALE_LAYER set past the last layer): the fed tokens and the logits after each, so the
caller can compare them with spikescope's logits on the same weights.
What it is not: a copy of the official code. That code is read at run time from --repo, which may
be a checkout, a folder holding src/model_run.py, or a bare git directory (e.g. what the search
tool's fetch leaves under /work/.mirror/ridgerchu+SpikeGPT/repo); a bare repository's `src/` is
extracted with `git archive` to a temporary folder. Nothing of it is committed here.

Adjustments made at import time, without editing its files:
  - RWKV_JIT_ON=0 (the module reads it at import; it only prints it);
  - FLOAT_MODE "fp32", RUN_DEVICE "cpu" in the args namespace it expects;
  - its prints (weight listing) go to stderr so stdout holds only the JSON.

Usage:
  python3 bench_spikegpt_torch.py --repo DIR --weights model.safetensors --prompt 0,1,2,3 \
      --tokens 200 [--repeats 3] [--check 8] [--threads 2]
Fixture for SpikeGPTFastTests (official logits on the tiny model, no timing):
  python3 bench_spikegpt_torch.py --repo DIR --weights ../ModelsTests/Fixtures/spikegpt/tiny.safetensors \
      --tokens 0 --feed 12,21,18,2,21,13,9,12,5,10,20,4 \
      --out ../ModelsTests/Fixtures/spikegpt/official_model_run_logits.json
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time


def locate_src(repo, tmp):
    """Returns a folder whose child `src/model_run.py` is the official script."""
    if os.path.isfile(os.path.join(repo, "src", "model_run.py")):
        return repo
    if os.path.basename(os.path.normpath(repo)) == "src" and os.path.isfile(os.path.join(repo, "model_run.py")):
        return os.path.dirname(os.path.normpath(repo))
    if os.path.isfile(repo) and repo.endswith("model_run.py"):
        return os.path.dirname(os.path.dirname(os.path.abspath(repo)))
    # a bare git directory: extract src/ at HEAD
    archive = subprocess.run(["git", "--git-dir", repo, "archive", "HEAD", "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    return tmp


def load_safetensors(path):
    import torch
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        import numpy as np
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
            data = f.read()
        out = {}
        for name, d in header.items():
            if name == "__metadata__":
                continue
            assert d["dtype"] == "F32", f"{name}: only F32 supported without the safetensors package"
            a, b = d["data_offsets"]
            out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(d["shape"]).copy())
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--prompt", default="0,1,2,3")
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--feed", default="", help="check run: feed exactly these ids (no greedy), e.g. a fixture's tokens")
    ap.add_argument("--out", default="", help="also write the JSON to this file")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    prompt = [int(t) for t in a.prompt.split(",") if t]

    with tempfile.TemporaryDirectory() as tmp:
        root = locate_src(os.path.abspath(a.repo), tmp)
        sys.path.insert(0, root)
        os.environ.setdefault("RWKV_JIT_ON", "0")
        os.environ.setdefault("RWKV_FLOAT_MODE", "fp32")
        os.environ.setdefault("RWKV_RUN_DEVICE", "cpu")
        with contextlib.redirect_stdout(sys.stderr):
            import src.model_run as mr

        w = load_safetensors(a.weights)
        n_layer = 0
        while f"blocks.{n_layer}.ln1.weight" in w:
            n_layer += 1
        V, C = w["emb.weight"].shape
        pth = os.path.join(tmp, "model")
        torch.save({k: v.contiguous() for k, v in w.items()}, pth + ".pth")
        import types
        args = types.SimpleNamespace(FLOAT_MODE="fp32", RUN_DEVICE="cpu", n_embd=C, n_layer=n_layer,
                                     vocab_size=V, MODEL_NAME=pth, ctx_len=1024)

        def run(model, n_new, keep_logits, feed=None):
            state = mem1 = mem2 = None
            ctx, logits = [], []
            for t in (feed or prompt):
                ctx.append(t)
                out, state, mem1, mem2 = model.forward(ctx, state, mem1, mem2)
                if keep_logits:
                    logits.append(out.tolist())
            t0 = time.perf_counter()
            for _ in range(n_new):
                ctx.append(int(torch.argmax(out)))
                out, state, mem1, mem2 = model.forward(ctx, state, mem1, mem2)
                if keep_logits:
                    logits.append(out.tolist())
            return time.perf_counter() - t0, ctx, logits

        # 1) the official code as released (fp32; its ÷2-every-6-layers rescaling included)
        best, tokens = float("nan"), []
        with contextlib.redirect_stdout(sys.stderr):
            model = mr.RWKV_RNN(args)
        if a.tokens > 0:
            run(model, 4, False)  # warm-up
            best = float("inf")
        for _ in range(a.repeats if a.tokens > 0 else 0):
            dt, ctx, _ = run(model, a.tokens, False)
            if dt < best:
                best, tokens = dt, ctx[len(prompt):]
        del model

        # 2) logits check with the rescaling off (spikescope has none: SEEDS.md §1)
        check = None
        if a.check > 0:
            mr.RWKV_RESCALE_LAYER = 10 ** 9
            with contextlib.redirect_stdout(sys.stderr):
                model = mr.RWKV_RNN(args)
            feed = [int(t) for t in a.feed.split(",") if t] or None
            _, ctx, logits = run(model, 0 if feed else a.check, True, feed)
            check = {"tokens": ctx, "logits": logits, "rescale_layer": mr.RWKV_RESCALE_LAYER}

    result = {
        "tokens_per_s": a.tokens / best if a.tokens > 0 else None,
        "ms_per_token": 1000 * best / a.tokens if a.tokens > 0 else None,
        "threads": a.threads,
        "torch_version": torch.__version__,
        "binary_embedding": V == 77,
        "tokens": tokens,
        "check": check,
    }
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
