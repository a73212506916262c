#!/usr/bin/env python3
"""NumPy reference of the spiking BERT (SpikeLM) forward pass, written from SEEDS.md §2.

What it is: an independent re-statement of the equations in /work/shared/SEEDS.md §2 on a small
random model (2 layers, hidden 16, 2 heads, intermediate 32, vocab 50, max_pos 16, 3 labels),
T = 4, used to check the Swift SpikeBERT. It writes, under Tests/ModelsTests/Fixtures/spikebert/:
  config.json            the HF-style config (with SpikeLM's T and input_bits)
  weights.safetensors    HF BertForSequenceClassification names (`bert.` prefix, `classifier.*`),
                         plus SpikeLM's per-timestep amplitudes `…act_clip_val.{t}`,
                         `…attention.self.clip_key.{t}` / `.clip_value.{t}` (the "given α")
  expected.safetensors   inputs (ids / type ids / mask as float32), expected final hidden states,
                         pooled output and logits for: the given-α spiking run (input A without
                         padding, input B with padding), the float run (every site bypassed), and
                         the calibrated run (α = 2·mean|m_t| of input A, then frozen), plus spikes
                         and membranes of two sites.
What it is not: a port of the Swift code or of the released PyTorch code; no training, no backward.

Re-run: python3 Tests/Reference/spikebert_ref.py   (numpy + safetensors; deterministic seed)

Computation is float32 like the Swift model, except reductions (LayerNorm moments, means of |m|)
which accumulate in float64 — both sides agree to ~1e-7 relative, far below the 1e-4 tolerance.
The script re-draws the random model until no spiking decision lies within 1e-4 of a rounding
boundary (|m/α| near 0.5 or 1.5), so a float32 rounding difference cannot flip a spike.
"""
import json
import math
import os

import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ModelsTests", "Fixtures", "spikebert")
F = np.float32

CFG = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
           intermediate_size=32, max_position_embeddings=16, type_vocab_size=2,
           layer_norm_eps=1e-12, hidden_act="gelu", num_labels=3, T=4, input_bits=2,
           architectures=["BertForSequenceClassification"], model_type="bert")
T = CFG["T"]
C = CFG["hidden_size"]
H = CFG["num_attention_heads"]
LINEARS = ["attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense"]


def make_weights(rng):
    w = {}
    def n(*shape, s=0.3):
        return (rng.standard_normal(shape) * s).astype(F)
    w["embeddings.word_embeddings.weight"] = n(CFG["vocab_size"], C, s=1.0)
    w["embeddings.position_embeddings.weight"] = n(CFG["max_position_embeddings"], C, s=0.5)
    w["embeddings.token_type_embeddings.weight"] = n(CFG["type_vocab_size"], C, s=0.5)
    w["embeddings.LayerNorm.weight"] = (1 + n(C, s=0.1)).astype(F)
    w["embeddings.LayerNorm.bias"] = n(C, s=0.1)
    I = CFG["intermediate_size"]
    for i in range(CFG["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name, (o, k) in {"attention.self.query": (C, C), "attention.self.key": (C, C),
                             "attention.self.value": (C, C), "attention.output.dense": (C, C),
                             "intermediate.dense": (I, C), "output.dense": (C, I)}.items():
            w[p + name + ".weight"] = n(o, k, s=1.0 / math.sqrt(k))
            w[p + name + ".bias"] = n(o, s=0.1)
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            w[p + ln + ".weight"] = (1 + n(C, s=0.1)).astype(F)
            w[p + ln + ".bias"] = n(C, s=0.1)
    w["pooler.dense.weight"] = n(C, C, s=1.0 / math.sqrt(C))
    w["pooler.dense.bias"] = n(C, s=0.1)
    w["classifier.weight"] = n(CFG["num_labels"], C, s=1.0 / math.sqrt(C))
    w["classifier.bias"] = n(CFG["num_labels"], s=0.1)
    return w


def layer_norm(x, g, b, eps):
    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    var = ((x64 - mu) ** 2).mean(-1, keepdims=True)
    return ((x64 - mu) / np.sqrt(var + eps) * g + b).astype(F)


def gelu(x):
    from math import erf
    v = np.vectorize(lambda z: 0.5 * z * (1.0 + erf(z / math.sqrt(2.0))))
    return v(x.astype(np.float64)).astype(F)


class Run:
    """One forward pass. alphas: dict site -> list of T floats, or None to calibrate (then filled)."""

    def __init__(self, w, alphas, spiking=True, record=()):
        self.w, self.alphas, self.spiking = w, alphas, spiking
        self.record = set(record)
        self.recorded = {}
        self.margin = float("inf")   # smallest distance of |m/α| to a rounding boundary seen

    def quant(self, m, a):
        # SEEDS §2: s = clamp(round(m/α), -1, 1) (round half to even, like torch.round); o = s·α.
        q = (m / F(a)).astype(F)
        aq = np.abs(q)
        self.margin = min(self.margin, float(np.min(np.minimum(np.abs(aq - 0.5), np.abs(aq - 1.5)))))
        s = np.clip(np.round(q), -1, 1).astype(F)
        return s, (s * F(a)).astype(F)

    def alpha(self, site, t, m, valid):
        if self.alphas.get(site) is None:
            self.alphas[site] = []
        lst = self.alphas[site]
        if len(lst) <= t:   # calibration: α_t = max(2·mean|m_t|, 1e-5) over the real (unpadded) tokens
            lst.append(float(F(max(2.0 * np.abs(m[valid].astype(np.float64)).mean(), 1e-5))))
        return lst[t]

    def spike_linear(self, site, x, valid):
        # SEEDS §2 SpikeLinear: m_0 = x_0; m_t = m_{t-1}·0.25·(α_{t-1} − o_{t-1}) + x_t; o_t = spike(m_t)
        W, b = self.w[site + ".weight"], self.w[site + ".bias"]
        if not self.spiking:
            return (x @ W.T + b).astype(F)
        o = np.zeros_like(x)
        ss, ms = [], []
        m_prev, a_prev = None, None
        for t in range(T):
            if t == 0:
                m = x[0].copy()
            else:
                m = (m_prev * F(0.25) * (F(a_prev) - o[t - 1]) + x[t]).astype(F)
            a = self.alpha(site, t, m, valid)
            s, o[t] = self.quant(m, a)
            ss.append(s); ms.append(m)
            m_prev, a_prev = m, a
        if site in self.record:
            self.recorded[site] = (np.stack(ss), np.stack(ms))
        return (o @ W.T + b).astype(F)

    def spike_plain(self, site, y, valid):
        # K and V after projection: one elastic bi-spike per timestep, no membrane carried over.
        if not self.spiking:
            return y
        out = np.zeros_like(y)
        ss, ms = [], []
        for t in range(T):
            a = self.alpha(site, t, y[t], valid)
            s, out[t] = self.quant(y[t], a)
            ss.append(s); ms.append(y[t])
        if site in self.record:
            self.recorded[site] = (np.stack(ss), np.stack(ms))
        return out

    def forward(self, ids, types, mask):
        w, eps = self.w, CFG["layer_norm_eps"]
        L = len(ids)
        valid = np.array(mask) == 1
        e = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][types]
             + w["embeddings.position_embeddings.weight"][np.arange(L)]).astype(F)
        e = layer_norm(e, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        x = np.repeat(e[None], T, axis=0)                       # [T, L, C]: the input repeated over T
        add_mask = np.where(valid, 0.0, -1e30).astype(np.float64)  # padded keys get ~zero probability
        d = C // H
        for i in range(CFG["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q = self.spike_linear(p + "attention.self.query", x, valid)
            k = self.spike_linear(p + "attention.self.key", x, valid)
            v = self.spike_linear(p + "attention.self.value", x, valid)
            k = self.spike_plain(p + "attention.self.key_spike", k, valid)
            v = self.spike_plain(p + "attention.self.value_spike", v, valid)
            ctx = np.zeros_like(x)
            for t in range(T):
                for h in range(H):
                    sl = slice(h * d, (h + 1) * d)
                    sc = q[t][:, sl].astype(np.float64) @ k[t][:, sl].astype(np.float64).T / math.sqrt(d)
                    sc = sc + add_mask[None, :]
                    sc = sc - sc.max(-1, keepdims=True)
                    pr = np.exp(sc); pr /= pr.sum(-1, keepdims=True)
                    ctx[t][:, sl] = (pr.astype(F).astype(np.float64) @ v[t][:, sl].astype(np.float64)).astype(F)
            a = self.spike_linear(p + "attention.output.dense", ctx, valid)
            a = layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            it = gelu(self.spike_linear(p + "intermediate.dense", a, valid))
            o = self.spike_linear(p + "output.dense", it, valid)
            x = layer_norm(o + a, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        hidden = x.astype(np.float64).mean(0).astype(F)           # mean over T
        pooled = np.tanh(hidden[0].astype(np.float64) @ w["pooler.dense.weight"].T.astype(np.float64)
                         + w["pooler.dense.bias"]).astype(F)
        logits = (pooled.astype(np.float64) @ w["classifier.weight"].T.astype(np.float64) + w["classifier.bias"]).astype(F)
        return hidden, pooled, logits


def site_names():
    out = []
    for i in range(CFG["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        out += [p + s for s in LINEARS] + [p + "attention.self.key_spike", p + "attention.self.value_spike"]
    return out


def alpha_tensor_name(site):
    # SpikeLM checkpoint names of the per-timestep amplitudes.
    if site.endswith(".key_spike"):
        return site[: -len(".key_spike")] + ".clip_key"
    if site.endswith(".value_spike"):
        return site[: -len(".value_spike")] + ".clip_value"
    return site + ".act_clip_val"


INPUT_A = dict(ids=[2, 17, 33, 8, 41, 5, 12, 3], types=[0, 0, 0, 0, 1, 1, 1, 1], mask=[1] * 8)
INPUT_B = dict(ids=[2, 9, 27, 44, 3, 0, 0, 0], types=[0, 0, 0, 0, 0, 0, 0, 0], mask=[1, 1, 1, 1, 1, 0, 0, 0])
RECORD = ["encoder.layer.1.attention.self.query", "encoder.layer.0.attention.self.key_spike"]


def main():
    for seed in range(100):
        rng = np.random.default_rng(1234 + seed)
        w = make_weights(rng)
        # The "given" α: calibrated on input A, then jittered by ×[0.7, 1.3] so it is not calibration.
        cal = Run(w, {})
        cal.forward(INPUT_A["ids"], INPUT_A["types"], INPUT_A["mask"])
        given = {s: [float(F(a * rng.uniform(0.7, 1.3))) for a in al] for s, al in cal.alphas.items()}
        runs = {}
        margin = cal.margin
        for tag, inp in (("a", INPUT_A), ("b", INPUT_B)):
            r = Run(w, {s: list(v) for s, v in given.items()}, record=RECORD)
            runs[tag] = (r, r.forward(inp["ids"], inp["types"], inp["mask"]))
            margin = min(margin, r.margin)
        if margin >= 1e-4:
            break
    else:
        raise SystemExit("no seed with a safe rounding margin")
    print(f"seed {1234 + seed}, smallest |m/α| distance to a rounding boundary: {margin:.3g}")
    os.makedirs(OUT, exist_ok=True)

    ckpt = {("bert." + k if not k.startswith("classifier.") else k): v for k, v in w.items()}
    for s, al in given.items():
        for t, a in enumerate(al):
            ckpt[f"bert.{alpha_tensor_name(s)}.{t}"] = np.array(a, dtype=F)   # shape [] like torch.tensor(1.0)
    save_file(ckpt, os.path.join(OUT, "weights.safetensors"))
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)

    exp = {}
    for tag, inp in (("a", INPUT_A), ("b", INPUT_B)):
        exp[f"{tag}.ids"] = np.array(inp["ids"], dtype=F)
        exp[f"{tag}.types"] = np.array(inp["types"], dtype=F)
        exp[f"{tag}.mask"] = np.array(inp["mask"], dtype=F)
        r, (hid, pooled, logits) = runs[tag]
        exp[f"{tag}.hidden"], exp[f"{tag}.pooled"], exp[f"{tag}.logits"] = hid, pooled, logits
        for s in RECORD:
            spikes, mem = r.recorded[s]
            exp[f"{tag}.spikes.{s}"] = spikes.reshape(-1, spikes.shape[-1]).astype(F)
            exp[f"{tag}.membrane.{s}"] = mem.reshape(-1, mem.shape[-1]).astype(F)
        fl = Run(w, {}, spiking=False)
        exp[f"{tag}.float_hidden"], _, exp[f"{tag}.float_logits"] = fl.forward(inp["ids"], inp["types"], inp["mask"])
    # Calibrated run on input A: α = 2·mean|m_t| as computed in order (the model has no α).
    cal2 = Run(w, {})
    exp["a.calibrated_hidden"], _, _ = cal2.forward(INPUT_A["ids"], INPUT_A["types"], INPUT_A["mask"])
    for s in site_names():
        exp[f"a.calibrated_alpha.{s}"] = np.array(cal2.alphas[s], dtype=F)
    save_file(exp, os.path.join(OUT, "expected.safetensors"))
    for fn in ("weights.safetensors", "expected.safetensors", "config.json"):
        print(fn, os.path.getsize(os.path.join(OUT, fn)), "bytes")


if __name__ == "__main__":
    main()
