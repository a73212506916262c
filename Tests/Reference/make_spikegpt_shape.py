#!/usr/bin/env python3
"""A random SpikeGPT of a released model's shape, for speed work (issue 22): the 216M release is
18 blocks, C = 768, F = 3072, the GPT-NeoX 20B vocabulary (V = 50277). Writes DIR/model.safetensors
(float32, the tensor names of SEEDS.md section 1) and DIR/tokenizer.json: a byte-level BPE with the
256 byte symbols and no merges, padded to V with ids the model never sees from text (the real 20B
tokenizer is not redistributable here; the shape is what the timing depends on).

    python3 Tests/Reference/make_spikegpt_shape.py .downloads/spikegpt216m-shape [--layers 18 --width 768 --vocab 50277]

numpy only. Weights: N(0, 1/C) matrices (so LIF sites fire at ordinary rates), unit LayerNorms,
time_decay spread over channels as the released models' are, time_mix 0.5."""
import argparse, json, os, struct
import numpy as np


def byte_symbols():
    # GPT-2's printable mapping of the 256 bytes.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--layers", type=int, default=18)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=50277)
    ap.add_argument("--seed", type=int, default=216)
    a = ap.parse_args()
    n, C, V = a.layers, a.width, a.vocab
    F = 4 * C
    rng = np.random.default_rng(a.seed)
    def mat(o, i):
        return (rng.standard_normal((o, i), dtype=np.float32) / np.sqrt(i)).astype(np.float32)
    t = {"emb.weight": rng.standard_normal((V, C), dtype=np.float32) * 0.5}
    for b in range(n):
        p = f"blocks.{b}."
        if b == 0:
            t[p + "ln0.weight"] = np.ones(C, np.float32); t[p + "ln0.bias"] = np.zeros(C, np.float32)
        for ln in ("ln1", "ln2"):
            t[p + ln + ".weight"] = np.ones(C, np.float32); t[p + ln + ".bias"] = np.zeros(C, np.float32)
        ratio = 1 - b / max(n, 1)
        t[p + "att.time_decay"] = (-5 + 8 * (np.arange(C) / (C - 1)) ** (0.7 + 1.3 * ratio)).astype(np.float32)
        t[p + "att.time_first"] = np.full(C, np.log(0.3), np.float32)
        for m in ("k", "v", "r"):
            t[p + f"att.time_mix_{m}"] = np.full((1, 1, C), 0.5, np.float32)
        for m in ("key", "value", "receptance", "output"):
            t[p + f"att.{m}.weight"] = mat(C, C)
        t[p + "ffn.time_mix_k"] = np.full((1, 1, C), 0.5, np.float32)
        t[p + "ffn.time_mix_r"] = np.full((1, 1, C), 0.5, np.float32)
        t[p + "ffn.key.weight"] = mat(F, C)
        t[p + "ffn.receptance.weight"] = mat(C, C)
        t[p + "ffn.value.weight"] = mat(C, F)
    t["ln_out.weight"] = np.ones(C, np.float32); t["ln_out.bias"] = np.zeros(C, np.float32)
    t["head.weight"] = mat(V, C)
    os.makedirs(a.dir, exist_ok=True)
    write_safetensors(os.path.join(a.dir, "model.safetensors"), t)
    syms = byte_symbols()
    vocab = {s: i for i, s in enumerate(syms)}
    for i in range(256, V):
        vocab[f"<|unused_{i}|>"] = i
    tok = {"version": "1.0", "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "vocab": vocab, "merges": []}}
    with open(os.path.join(a.dir, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    params = sum(x.size for x in t.values())
    print(json.dumps({"dir": a.dir, "layers": n, "width": C, "vocab": V, "parameters": int(params)}))


if __name__ == "__main__":
    main()
