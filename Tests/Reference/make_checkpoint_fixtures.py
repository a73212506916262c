#!/usr/bin/env python3
"""Writes the checkpoint fixtures of Tests/FormatsTests/Fixtures/ with PyTorch and safetensors.

What it is: the independent reference for the Swift readers. Every tensor is written twice, once
with torch.save (the zip format of torch >= 1.6) and once with the `safetensors` package, and its
expected Float32 values are written as uint32 bit patterns to a JSON file (bits keep NaN payloads
and -0 exact). Re-runnable: seeded, and outputs are overwritten.
What it is not: a test by itself; Tests/FormatsTests/PyTorchCheckpointTests.swift reads the output.

Run: python3 Tests/Reference/make_checkpoint_fixtures.py
"""
import collections
import io
import json
import os
import struct
import zipfile

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "FormatsTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)


def bits_of(t):
    """Float32 values of `t` (after the same conversion the reader does) as uint32 bit patterns."""
    f = t.detach().to(torch.float32).contiguous().reshape(-1).numpy()
    return [int(b) for b in f.view(np.uint32)]


def expected_entry(t):
    e = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        e["ints"] = [int(v) for v in t.reshape(-1).tolist()]
    else:
        e["bits"] = bits_of(t)
    return e


def save_both(name, sd, flat):
    """sd: what torch.save writes; flat: {dotted name: tensor} that the reader should produce."""
    torch.save(sd, os.path.join(OUT, name + ".pth"))
    # safetensors refuses shared storage: give it independent contiguous copies, same values.
    save_file({k: v.contiguous().clone() for k, v in flat.items()},
              os.path.join(OUT, name + ".safetensors"), metadata={"format": "pt", "source": name})
    with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
        json.dump({k: expected_entry(v) for k, v in flat.items()}, f, indent=0, sort_keys=True)


# 1. A mixed state dict: shapes of rank 0..3, a transposed (non-contiguous) view, two tensors
#    sharing one storage at different offsets, F16/BF16/F64, an int64 tensor and special values.
base = torch.randn(4, 3)
shared = torch.randn(12)
special = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-45, 3.4e38, -1.17549435e-38],
                       dtype=torch.float32)
# A NaN with a payload (0x7fc01234) and a negative signalling-looking pattern, set through the bits.
special_bits = special.view(torch.int32).clone()
special_bits[4] = 0x7FC01234
special = special_bits.view(torch.float32)
mixed = collections.OrderedDict()
mixed["w2d"] = torch.randn(3, 4)
mixed["w3d"] = torch.randn(2, 3, 4)
mixed["bias"] = torch.randn(5)
mixed["scalar"] = torch.tensor(1.5)
mixed["transposed"] = base.t()                    # shape [3, 4], strides [1, 3]
mixed["shared.a"] = shared[2:6]                   # storage offset 2
mixed["shared.b"] = shared[4:12].view(2, 4)       # storage offset 4, overlaps shared.a
mixed["half"] = torch.randn(6).half()
mixed["bf16"] = torch.randn(2, 3).bfloat16()
mixed["f64"] = torch.randn(3, dtype=torch.float64)
mixed["special"] = special
mixed["position_ids"] = torch.arange(7, dtype=torch.int64).unsqueeze(0)
mixed["empty"] = torch.zeros(0, 3)
save_both("mixed", mixed, dict(mixed))

# 2. Nested: a training checkpoint {"epoch", "model": {...nested OrderedDicts...}}.
inner = collections.OrderedDict()
inner["encoder"] = collections.OrderedDict([("weight", torch.randn(2, 2)), ("bias", torch.randn(2))])
inner["head"] = collections.OrderedDict([("weight", torch.randn(3, 2))])
nested = {"epoch": 7, "lr": 0.001, "model": inner}
flat_nested = {"encoder.weight": inner["encoder"]["weight"], "encoder.bias": inner["encoder"]["bias"],
               "head.weight": inner["head"]["weight"]}
save_both("nested", nested, flat_nested)

# 3. A tiny SpikeGPT state dict (names from SEEDS.md section 1): n_layer 2, C 8, V 11.
L, C, V = 2, 8, 11
g = collections.OrderedDict()
g["emb.weight"] = torch.randn(V, C)
for i in range(L):
    p = f"blocks.{i}."
    if i == 0:
        g[p + "ln0.weight"] = torch.randn(C)
        g[p + "ln0.bias"] = torch.randn(C)
    for ln in ("ln1", "ln2"):
        g[p + ln + ".weight"] = torch.randn(C)
        g[p + ln + ".bias"] = torch.randn(C)
    g[p + "att.time_decay"] = torch.randn(C)
    g[p + "att.time_first"] = torch.randn(C)
    for m in ("k", "v", "r"):
        g[p + f"att.time_mix_{m}"] = torch.rand(1, 1, C)
    for n in ("key", "value", "receptance", "output"):
        g[p + f"att.{n}.weight"] = torch.randn(C, C)
    for m in ("k", "r"):
        g[p + f"ffn.time_mix_{m}"] = torch.rand(1, 1, C)
    g[p + "ffn.key.weight"] = torch.randn(4 * C, C)
    g[p + "ffn.receptance.weight"] = torch.randn(C, C)
    g[p + "ffn.value.weight"] = torch.randn(C, 4 * C)
g["ln_out.weight"] = torch.randn(C)
g["ln_out.bias"] = torch.randn(C)
g["head.weight"] = torch.randn(V, C)
save_both("spikegpt_tiny", g, dict(g))


def rewrite_zip(src, dst, replace=None, drop=(), compress=False):
    """Copies the torch zip `src` to `dst`, replacing entry suffixes in `replace`, dropping `drop`."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            suffix = info.filename.split("/", 1)[1]
            if suffix in drop:
                continue
            data = replace.get(suffix, zin.read(info.filename))
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
            zout.writestr(fixed, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)


# 4. Hostile and broken zips built from a valid torch file.
small = os.path.join(OUT, "_small.pth")
torch.save(collections.OrderedDict([("w", torch.arange(6, dtype=torch.float32).reshape(2, 3))]), small)
# A pickle that would call posix.system("echo pwned") if loaded with pickle.load.
evil = b"\x80\x02cposix\nsystem\nq\x00X\x0b\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
rewrite_zip(small, os.path.join(OUT, "malicious.pth"), replace={"data.pkl": evil})
rewrite_zip(small, os.path.join(OUT, "missing_pkl.pth"), drop=("data.pkl",))
rewrite_zip(small, os.path.join(OUT, "deflated.pth"), compress=True)
os.rename(small, os.path.join(OUT, "small.pth"))
with open(os.path.join(OUT, "small.expected.json"), "w") as f:
    json.dump({"w": expected_entry(torch.arange(6, dtype=torch.float32).reshape(2, 3))}, f)

# 5. Protocol 4 pickles (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL) of the small state dict.
torch.save(collections.OrderedDict([("w", torch.arange(6, dtype=torch.float32).reshape(2, 3))]),
           os.path.join(OUT, "proto4.pth"), pickle_protocol=4)


def write_zip64(src, dst):
    """Rewrites `src` with every ZIP64 field in use (APPNOTE 4.3.9, 4.4.8, 4.5.3, 4.3.14-15):
    sizes and offsets of 0xFFFFFFFF in the headers, the real values in 0x0001 extra fields, and
    ZIP64 end records; as a file over 4 GB would have. Entries stay stored (method 0)."""
    with zipfile.ZipFile(src) as z:
        items = [(i.filename, z.read(i.filename), i.CRC) for i in z.infolist()]
    out = bytearray()
    central = bytearray()
    for name, data, crc in items:
        off = len(out)
        nb = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra))
        out += nb + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += nb + cextra
    cd_off = len(out)
    out += central
    z64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(items), len(items), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)
    with zipfile.ZipFile(dst) as z:  # Python's reader agrees
        assert [i.filename for i in z.infolist()] == [n for n, _, _ in items]
        assert all(z.read(n) == d for n, d, _ in items)


write_zip64(os.path.join(OUT, "small.pth"), os.path.join(OUT, "zip64.pth"))
assert torch.equal(torch.load(os.path.join(OUT, "zip64.pth"))["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3))

# 6. The legacy (pre-1.6) format.
torch.save(collections.OrderedDict([("w", torch.ones(2))]), os.path.join(OUT, "legacy.pth"),
           _use_new_zipfile_serialization=False)

for n in sorted(os.listdir(OUT)):
    print(f"{os.path.getsize(os.path.join(OUT, n)):8d}  {n}")
