#!/usr/bin/env python3
"""Hostile torch.save-format checkpoints for the reader's tests, written without torch.

A fake `torch` / `torch._utils` module lets the standard pickler emit exactly the globals a
torch.save state dict uses (torch._utils._rebuild_tensor_v2, torch.FloatStorage,
collections.OrderedDict) and the ('storage', …) persistent ids; the zip layout is torch's
(<prefix>/data.pkl, <prefix>/data/<key>, <prefix>/version), entries stored.

  broadcast.pth   'small': a [4, 3] view with stride [0, 1] of a 3-element storage (torch's
                  expand; legal, loads as 4 copies of the row).
  hugeview.pth    'huge': a [100000, 100000] view with stride [0, 0] of a 1-element storage
                  (10^10 elements from 4 bytes).
  repeated.pth    100 tensors, each a [64, 16384] stride-[0, 1] view of ONE 16384-float storage:
                  a 66 KB file whose tensors would take 400 MB once expanded.

Run from the package root: python3 Tests/Reference/make_hostile_fixtures.py
"""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called: only pickled")


_rebuild_tensor_v2.__module__ = "torch._utils"
_rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage
torch._utils = utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


class Storage:
    def __init__(self, key, values):
        self.key, self.values = key, values


class View:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        return (_rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", len(obj.values))
        return None


def write(path, tensors):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(collections.OrderedDict(tensors))
    storages = {}
    for _, v in tensors:
        storages[v.storage.key] = v.storage
    prefix = "archive"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(prefix + "/data.pkl", buf.getvalue())
        for key, s in storages.items():
            z.writestr(prefix + "/data/" + key, struct.pack("<%df" % len(s.values), *s.values))
        z.writestr(prefix + "/version", "3\n")


row = Storage("0", [1.0, 2.0, 3.0])
one = Storage("1", [7.0])
write("Tests/FormatsTests/Fixtures/broadcast.pth", [("small", View(row, 0, [4, 3], [0, 1]))])
write("Tests/FormatsTests/Fixtures/hugeview.pth", [("huge", View(one, 0, [100000, 100000], [0, 0]))])
big = Storage("0", [float(i % 7) for i in range(16384)])
write("Tests/FormatsTests/Fixtures/repeated.pth", [("t%d" % i, View(big, 0, [64, 16384], [0, 1])) for i in range(100)])
print("wrote Tests/FormatsTests/Fixtures/broadcast.pth, hugeview.pth, repeated.pth")
