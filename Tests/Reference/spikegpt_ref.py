#!/usr/bin/env python3
"""NumPy reference for SpikeGPT (SEEDS.md §1), written from the spec, not from the Swift code.

Writes Tests/ModelsTests/Fixtures/spikegpt/tiny.safetensors (a random checkpoint with the
official tensor names) and tiny_expected.json (tokens, logits [T,V], hidden [T,C], and per LIF
site the charged membrane h[t] and spikes s[t]).

Independence: the WKV here is the direct ratio-of-sums definition in float64,
    wkv[t] = (Σ_{j<t} e^{(t-1-j)w + k_j} v_j + e^{u+k_t} v_t) / (Σ_{j<t} e^{(t-1-j)w + k_j} + e^{u+k_t}),
not the running-max recurrence the Swift code uses; everything runs in float64.
Run: python3 Tests/Reference/spikegpt_ref.py
"""
import json, os, struct
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "ModelsTests", "Fixtures", "spikegpt")


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make_weights(rng, n_layer, C, V, ffn_mult=4, scale=0.6):
    F = ffn_mult * C
    w = {"emb.weight": rng.normal(0, 1.0, (V, C)), "head.weight": rng.normal(0, 0.3, (V, C)),
         "ln_out.weight": 1 + rng.normal(0, 0.1, C), "ln_out.bias": rng.normal(0, 0.1, C)}
    for i in range(n_layer):
        p = f"blocks.{i}."
        if i == 0:
            w[p + "ln0.weight"] = 1 + rng.normal(0, 0.1, C); w[p + "ln0.bias"] = rng.normal(0, 0.1, C)
        for ln in ("ln1", "ln2"):
            w[p + ln + ".weight"] = 1 + rng.normal(0, 0.1, C); w[p + ln + ".bias"] = rng.normal(0, 0.1, C)
        w[p + "att.time_decay"] = rng.uniform(-3, 1, C)
        w[p + "att.time_first"] = rng.uniform(-1, 1, C)
        for m in "kvr":
            w[p + f"att.time_mix_{m}"] = rng.uniform(0, 1, (1, 1, C))
        for n in ("key", "value", "receptance"):
            w[p + f"att.{n}.weight"] = rng.normal(0, scale / np.sqrt(C) * 2, (C, C))
        w[p + "att.output.weight"] = rng.normal(0, 3.0 / np.sqrt(C), (C, C))
        for m in "kr":
            w[p + f"ffn.time_mix_{m}"] = rng.uniform(0, 1, (1, 1, C))
        w[p + "ffn.key.weight"] = rng.normal(0, 1.5 / np.sqrt(C), (F, C))
        w[p + "ffn.receptance.weight"] = rng.normal(0, 1.0 / np.sqrt(C), (C, C))
        w[p + "ffn.value.weight"] = rng.normal(0, 3.0 / np.sqrt(F), (C, F))
    return {k: v.astype(np.float32) for k, v in w.items()}


def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lif(x, tau=2.0, vth=1.0, vreset=0.0):
    """SpikingJelly LIFNode, decay_input, hard reset, over rows t of x [T, C]."""
    T, C = x.shape
    v = np.full(C, vreset)
    H, S = np.zeros_like(x), np.zeros_like(x)
    for t in range(T):
        h = v + (x[t] - (v - vreset)) / tau
        s = (h >= vth).astype(np.float64)
        v = h * (1 - s) + vreset * s
        H[t], S[t] = h, s
    return H, S


def shift(x):
    return np.concatenate([np.zeros((1, x.shape[1])), x[:-1]], 0)


def wkv_direct(w, u, k, v):
    T, C = k.shape
    out = np.zeros((T, C))
    for t in range(T):
        num = np.exp(u + k[t]) * v[t]
        den = np.exp(u + k[t])
        for j in range(t):
            e = np.exp((t - 1 - j) * w + k[j])
            num = num + e * v[j]
            den = den + e
        out[t] = num / den
    return out


def forward(W, tokens, n_layer, neuron="lif"):
    g = {k: v.astype(np.float64) for k, v in W.items()}
    x = g["emb.weight"][tokens]
    sites = {}
    for i in range(n_layer):
        p = f"blocks.{i}."
        if i == 0:
            x = layer_norm(x, g[p + "ln0.weight"], g[p + "ln0.bias"])
        a = layer_norm(x, g[p + "ln1.weight"], g[p + "ln1.bias"])
        xx = shift(a)
        mk, mv, mr = (g[p + f"att.time_mix_{m}"].reshape(-1) for m in "kvr")
        k = (a * mk + xx * (1 - mk)) @ g[p + "att.key.weight"].T
        v = (a * mv + xx * (1 - mv)) @ g[p + "att.value.weight"].T
        r = sigmoid((a * mr + xx * (1 - mr)) @ g[p + "att.receptance.weight"].T)
        w = -np.exp(g[p + "att.time_decay"])
        u = g[p + "att.time_first"]
        att = (r * wkv_direct(w, u, k, v)) @ g[p + "att.output.weight"].T
        if neuron == "lif":
            H, S = lif(att)
        else:
            H, S = att, att
        sites[p + "att.lif"] = (H, S, att)
        x = x + S
        b = layer_norm(x, g[p + "ln2.weight"], g[p + "ln2.bias"])
        xx = shift(b)
        mk, mr = (g[p + f"ffn.time_mix_{m}"].reshape(-1) for m in "kr")
        kk = np.maximum((b * mk + xx * (1 - mk)) @ g[p + "ffn.key.weight"].T, 0) ** 2
        ffn = sigmoid((b * mr + xx * (1 - mr)) @ g[p + "ffn.receptance.weight"].T) * (kk @ g[p + "ffn.value.weight"].T)
        if neuron == "lif":
            H, S = lif(ffn)
        else:
            H, S = ffn, ffn
        sites[p + "ffn.lif"] = (H, S, ffn)
        x = x + S
    hidden = layer_norm(x, g["ln_out.weight"], g["ln_out.bias"])
    return hidden @ g["head.weight"].T, hidden, sites


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    n_layer, C, V = 2, 16, 23
    W = make_weights(rng, n_layer, C, V)
    write_safetensors(os.path.join(OUT, "tiny.safetensors"), W)
    # A char vocabulary for the 23 ids (SpikeGPT's char-vocab layout: id string → character), so
    # the workbench can type prompts into the tiny model in end-to-end tests.
    chars = " abcdefghiklmnoprstuy.!"
    with open(os.path.join(OUT, "tiny.vocab.json"), "w", encoding="utf-8") as f:
        json.dump({str(i): c for i, c in enumerate(chars)}, f)
    tokens = [int(t) for t in rng.integers(0, V, 12)]
    out = {"config": {"layers": n_layer, "width": C, "vocab": V}, "tokens": tokens, "runs": {}}
    for neuron in ("lif", "none"):
        logits, hidden, sites = forward(W, tokens, n_layer, neuron)
        out["runs"][neuron] = {
            "logits": logits.round(7).tolist(), "hidden": hidden.round(7).tolist(),
            "sites": {n: {"membrane": H.round(7).tolist(), "spikes": S.round(7).tolist(),
                          "firing_rate": float((S != 0).mean()) if neuron == "lif" else None}
                      for n, (H, S, _) in sites.items()}}
        if neuron == "lif":
            print("firing rates:", {n: round(float(S.mean()), 3) for n, (H, S, _) in sites.items()})
    with open(os.path.join(OUT, "tiny_expected.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
