#!/usr/bin/env python3
"""PyTorch reference values for Engine ops (forward and backward).

Writes Fixtures/ops_reference.json: for each case, the inputs, the upstream gradient `g` and the
outputs / input gradients PyTorch computes for L = sum(g * op(inputs)). Tests/EngineTests/
OpsReferenceTests.swift (in OpsTests.swift) reads it. Re-run: python3 Tests/Reference/ops_reference.py
Float64 is used for the reference (so it is the exact value of the formula up to 1e-15); the Swift
side runs Float32 on the same (float32-representable) inputs.
"""
import json, math, os
import torch

torch.manual_seed(0)
D = torch.float64


def f32(*shape, scale=1.0):
    # Values representable in float32, so both sides start from identical inputs.
    return (torch.randn(*shape) * scale).to(torch.float32).to(D)


def t(x):
    return {"shape": list(x.shape), "values": [float(v) for v in x.detach().reshape(-1).tolist()]}


cases = {}


def run(name, inputs, fn, extra=None):
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    g = f32(*y.shape) if y.dim() > 0 else torch.tensor(1.0, dtype=D)
    (y * g).sum().backward()
    out = {"y": t(y), "g": t(g)}
    for k, v in leaves.items():
        out["d_" + k] = t(v.grad)
    case = {"inputs": {k: t(v) for k, v in inputs.items()}, "outputs": out}
    if extra:
        case["params"] = extra
    cases[name] = case


# LayerNorm with BERT's eps and PyTorch's default.
for eps in (1e-12, 1e-5):
    run(f"layernorm_eps{eps:g}", {"x": f32(3, 8, scale=2.0) + 1, "w": f32(8), "b": f32(8)},
        lambda x, w, b, eps=eps: torch.nn.functional.layer_norm(x, (8,), w, b, eps), {"eps": eps})

# Exact (erf) GELU.
run("gelu", {"x": f32(2, 6, scale=2.0)}, lambda x: torch.nn.functional.gelu(x))

# Cross-entropy with ignore_index (mean over kept rows).
logits = f32(5, 7, scale=2.0)
targets = [3, -100, 0, 6, 2]
run("cross_entropy", {"z": logits},
    lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(targets), ignore_index=-100),
    {"targets": targets, "ignore_index": -100})

# Scaled dot-product attention core: softmax(Q·Kᵀ/√d)·V, batched [B, L, d].
run("attention", {"q": f32(2, 3, 4), "k": f32(2, 3, 4), "v": f32(2, 3, 4)},
    lambda q, k, v: torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1) @ v)

# Linear (nn.Linear layout) followed by log-softmax.
run("linear_logsoftmax", {"x": f32(2, 3, 4), "w": f32(5, 4), "b": f32(5)},
    lambda x, w, b: torch.log_softmax(torch.nn.functional.linear(x, w, b), dim=-1))


# Elastic ternary spike, written as the standard LSQ autograd expression (not the hand-written
# backward of the released code): round with a straight-through pass, α with a gradient scale k.
def lsq_ternary(m, alpha):
    k = 1.0 / math.sqrt(m.numel())
    a_s = (alpha - alpha * k).detach() + alpha * k  # value α, gradient scaled by k
    q = torch.clamp(m / a_s, -1.0, 1.0)
    q_r = (q.round() - q).detach() + q          # torch.round: half to even
    return q_r * a_s


alpha = torch.tensor(0.75, dtype=D)
qs = torch.tensor([0.5, 1.5, -0.5, -1.5, 2.5, -2.2, 0.3, -0.7, 0.9, 1.2, -0.05, 0.62], dtype=D)
m = (qs * alpha).reshape(3, 4).to(torch.float32).to(D)
run("ternary_spike", {"m": m, "alpha": alpha.reshape(1)}, lsq_ternary)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Fixtures", "ops_reference.json")
with open(path, "w") as f:
    json.dump(cases, f, indent=0, sort_keys=True)
print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases)} cases)")
