#!/usr/bin/env python3
"""Fetches MediaPipe's face and person detectors and converts them once.

Gets the PyPI wheel mediapipe==0.10.14 (cp311, manylinux x86_64, Apache-2.0)
with `pip download --no-deps` (never installed), checks its SHA-256, takes
two TFLite models out of it with zipfile, and writes each as a safetensors
file in MODEL_DIR (default data/models) that the pure-Rust interpreter in
shared/src/tagger/people/ reads:

  face-detector.safetensors  <- face_detection_short_range.tflite (BlazeFace)
  face-detector-full.safetensors <- face_detection_full_range_sparse.tflite
                                (BlazeFace full range, for small faces)
  pose-detector.safetensors  <- pose_detection.tflite (BlazePose's person detector)

Weights stored as float16 (DEQUANTIZE ops) or sparse float16 (DENSIFY ops)
are expanded to dense float32 here, so the graph left is made of ten plain
float ops; it travels in the safetensors header's `__metadata__["graph"]`
as JSON. The flatbuffers are read with the pure-Python `tflite` package
(installed into .venv on first use). Idempotent: an output whose SHA-256
matches the recorded one is left alone, and a conversion that does not give
the recorded SHA-256 fails.
"""

import os
import sys
import zipfile

import modelkit

PACKAGE = "mediapipe==0.10.14"
WHEEL = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
TFLITE_PACKAGE = "tflite==2.18.0"

# output -> (wheel member, its SHA-256, the converted file's SHA-256)
MODELS = {
    "face-detector.safetensors": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        "37b3cf81238f32d5d7d63d04404007affa36b14c19bae8f5d1e898f3e45ca50a",
    ),
    "face-detector-full.safetensors": (
        "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        "11ec4af8033946ee39241ec0d82018b7266392577533bb9de60498d32b7363f6",
    ),
    "pose-detector.safetensors": (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        "0c8fda2cd60c52cd01245b833d99e2d67248798779474f95ef9379a928bf5727",
    ),
}

# The ops the Rust interpreter implements; anything else fails the conversion.
SUPPORTED = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "RELU", "PAD", "MAX_POOL_2D",
    "RESHAPE", "CONCATENATION", "DEPTH_TO_SPACE", "RESIZE_BILINEAR",
}


def enum_names(cls):
    return {v: k for k, v in vars(cls).items() if not k.startswith("_")}


class Graph:
    """A TFLite subgraph with its constant tensors resolved to numpy arrays."""

    def __init__(self, data):
        import numpy as np
        import tflite
        from tflite.BuiltinOperator import BuiltinOperator

        self.np = np
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            sys.exit("expected one subgraph")
        self.g = self.model.Subgraphs(0)
        self.op_names = enum_names(BuiltinOperator)
        self.consts = {}

    def tensor(self, i):
        return self.g.Tensors(i)

    def shape(self, i):
        t = self.tensor(i)
        return [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []

    def raw(self, i):
        """The tensor's buffer as a numpy array of its own type, or None."""
        np = self.np
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32}[t.Type()]
        return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype)

    def densify(self, i):
        """TFLite's sparse layout: each dimension dense or CSR, in traversal
        order; here without blocks, which is all these models use."""
        np = self.np
        t = self.tensor(i)
        sp = t.Sparsity()
        shape = self.shape(i)
        order = [int(x) for x in sp.TraversalOrderAsNumpy()]
        if order != list(range(len(shape))) or sp.BlockMapLength():
            sys.exit(f"{t.Name()}: block-sparse or reordered tensors are not supported")
        values = self.raw(i)

        def vector(dm, which):
            kind = dm.ArraySegmentsType() if which == "seg" else dm.ArrayIndicesType()
            table = dm.ArraySegments() if which == "seg" else dm.ArrayIndices()
            import tflite
            cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]
            v = cls()
            v.Init(table.Bytes, table.Pos)
            return [int(x) for x in v.ValuesAsNumpy()]

        dense = np.zeros(shape, dtype=np.float32).reshape(-1)
        # Walk the dimensions: `positions` are (flat dense offset, storage
        # position) pairs for the prefix visited so far.
        positions = [(0, 0)]
        for d in range(len(shape)):
            dm = sp.DimMetadata(d)
            nxt = []
            if dm.Format() == 0:  # DENSE
                size = dm.DenseSize()
                for off, pos in positions:
                    for k in range(size):
                        nxt.append((off * shape[d] + k, pos * size + k))
            else:  # SPARSE_CSR
                seg, idx = vector(dm, "seg"), vector(dm, "idx")
                for off, pos in positions:
                    for k in range(seg[pos], seg[pos + 1]):
                        nxt.append((off * shape[d] + idx[k], k))
            positions = nxt
        for off, pos in positions:
            dense[off] = values[pos]
        return dense.reshape(shape)

    def constant(self, i):
        if i in self.consts:
            return self.consts[i]
        raw = self.raw(i)
        if raw is None:
            return None
        if self.tensor(i).Sparsity():
            return None  # only through DENSIFY
        return raw.reshape(self.shape(i))

    def convert(self):
        import tflite

        np = self.np
        ops = []
        g = self.g
        for n in range(g.OperatorsLength()):
            op = g.Operators(n)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            name = self.op_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            ins = [op.Inputs(j) for j in range(op.InputsLength())]
            out = op.Outputs(0)
            if name == "DEQUANTIZE":
                # A float16 buffer, or a float16 tensor DENSIFY expanded.
                src = self.consts[ins[0]] if ins[0] in self.consts else self.raw(ins[0])
                self.consts[out] = src.astype(np.float32).reshape(self.shape(out))
                continue
            if name == "DENSIFY":
                self.consts[out] = self.densify(ins[0]).astype(np.float32)
                continue
            if name not in SUPPORTED:
                sys.exit(f"operator {name} is not supported")
            opts = op.BuiltinOptions()
            entry = {"op": name, "out": out, "shape": self.shape(out)}
            act_names = enum_names(tflite.ActivationFunctionType)
            pad_names = enum_names(tflite.Padding)
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                o = (tflite.Conv2DOptions if name == "CONV_2D" else tflite.DepthwiseConv2DOptions)()
                o.Init(opts.Bytes, opts.Pos)
                if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
                    sys.exit("dilated convolutions are not supported")
                if name == "DEPTHWISE_CONV_2D" and self.shape(ins[1])[3] != self.shape(ins[0])[3]:
                    sys.exit("depth multipliers other than 1 are not supported")
                entry.update(stride=[o.StrideH(), o.StrideW()], padding=pad_names[o.Padding()],
                             activation=act_names[o.FusedActivationFunction()],
                             weights=f"t{ins[1]}", bias=f"t{ins[2]}")
                ins = ins[:1]
            elif name == "ADD":
                o = tflite.AddOptions()
                o.Init(opts.Bytes, opts.Pos)
                entry["activation"] = act_names[o.FusedActivationFunction()]
            elif name == "MAX_POOL_2D":
                o = tflite.Pool2DOptions()
                o.Init(opts.Bytes, opts.Pos)
                if o.FusedActivationFunction() != 0:
                    sys.exit("fused activations on pooling are not supported")
                entry.update(stride=[o.StrideH(), o.StrideW()], padding=pad_names[o.Padding()],
                             filter=[o.FilterHeight(), o.FilterWidth()])
            elif name == "PAD":
                entry["paddings"] = [[int(a), int(b)] for a, b in self.constant(ins[1]).reshape(-1, 2)]
                ins = ins[:1]
            elif name == "RESHAPE":
                ins = ins[:1]
            elif name == "CONCATENATION":
                o = tflite.ConcatenationOptions()
                o.Init(opts.Bytes, opts.Pos)
                if o.FusedActivationFunction() != 0:
                    sys.exit("fused activations on concatenation are not supported")
                entry["axis"] = o.Axis()
            elif name == "DEPTH_TO_SPACE":
                o = tflite.DepthToSpaceOptions()
                o.Init(opts.Bytes, opts.Pos)
                entry["block"] = o.BlockSize()
            elif name == "RESIZE_BILINEAR":
                o = tflite.ResizeBilinearOptions()
                o.Init(opts.Bytes, opts.Pos)
                entry.update(align_corners=bool(o.AlignCorners()),
                             half_pixel_centers=bool(o.HalfPixelCenters()))
                ins = ins[:1]
            for i in ins:
                if self.constant(i) is not None or i in self.consts:
                    sys.exit(f"{name}: constant data inputs are not supported")
            entry["in"] = ins
            ops.append(entry)
        weights = {}
        for e in ops:
            for key in ("weights", "bias"):
                if key in e:
                    i = int(e[key][1:])
                    w = self.consts.get(i)
                    if w is None:
                        w = self.constant(i)
                    weights[e[key]] = np.ascontiguousarray(w, dtype=np.float32)
        graph = {
            "input": {"tensor": g.Inputs(0), "shape": self.shape(g.Inputs(0))},
            "outputs": {self.tensor(g.Outputs(j)).Name().decode(): g.Outputs(j)
                        for j in range(g.OutputsLength())},
            "ops": ops,
        }
        return graph, weights


def main():
    model_dir = modelkit.model_dir()
    pending = [out for out, (_, _, want) in MODELS.items()
               if not modelkit.present(os.path.join(model_dir, out), want)]
    if not pending:
        print(f"{model_dir}: face (short and full range) and pose detectors present")
        return
    modelkit.ensure_packages(TFLITE_PACKAGE, "tflite", "numpy")
    os.makedirs(model_dir, exist_ok=True)
    wheel = modelkit.fetch_pypi(
        modelkit.cache_dir(model_dir), PACKAGE, WHEEL, WHEEL_SHA256,
        "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
    )
    with zipfile.ZipFile(wheel) as z:
        for out in pending:
            member, member_sha, want = MODELS[out]
            data, got = modelkit.member(z, member, member_sha)
            graph, weights = Graph(data).convert()
            path = os.path.join(model_dir, out)
            digest = modelkit.write_graph_model(
                path, graph, weights, f"PyPI {PACKAGE} {WHEEL} {member} (Apache-2.0)", got, want)
            print(f"{path}: {len(graph['ops'])} ops, {len(weights)} tensors from {member} "
                  f"(SHA-256 {digest}, source {got})")


if __name__ == "__main__":
    main()
