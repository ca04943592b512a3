//! Reading a graph: the ops as the fetch scripts write them (the
//! safetensors file's `graph` metadata), each checked against its inputs'
//! shapes and turned into an `Op` with its weights laid out for its
//! kernel; then explicit paddings folded into the windows that read them.

use safetensors::SafeTensors;
use serde::Deserialize;
use std::collections::HashMap;

use super::Graph;
use super::ops::{Conv, Depthwise, Hwc, Kind, Op, Product, Window};
use crate::tagger::dense::{Activation, Dense};
use crate::tagger::local::LoadError;
use crate::tagger::quantized::{self, QuantizedDense};

/// The graph as the fetch scripts write it.
#[derive(Deserialize)]
pub(super) struct GraphFile {
    input: InputSpec,
    outputs: HashMap<String, usize>,
    ops: Vec<OpSpec>,
}

#[derive(Deserialize)]
struct InputSpec {
    tensor: usize,
    shape: Vec<usize>,
}

#[derive(Deserialize)]
struct OpSpec {
    op: String,
    #[serde(rename = "in")]
    inputs: Vec<usize>,
    out: usize,
    shape: Vec<usize>,
    #[serde(default)]
    stride: Vec<usize>,
    #[serde(default)]
    padding: String,
    #[serde(default)]
    activation: String,
    #[serde(default)]
    weights: String,
    #[serde(default)]
    bias: String,
    #[serde(default)]
    filter: Vec<usize>,
    #[serde(default)]
    paddings: Vec<[usize; 2]>,
    #[serde(default)]
    axis: i64,
    #[serde(default)]
    block: usize,
    #[serde(default)]
    align_corners: bool,
    #[serde(default)]
    half_pixel_centers: bool,
    /// HARD_SWISH, HARD_SIGMOID: `scale * relu6(x + offset)` (times x).
    #[serde(default)]
    scale: f32,
    #[serde(default)]
    offset: f32,
}

impl GraphFile {
    /// The same graph for a square input of `side` pixels: the spatial
    /// sizes of a fully convolutional graph scale with its input's, each
    /// of them (other than the 1x1 of a mean) evenly; the ops' checks at
    /// build then hold the scaled shapes to their windows.
    pub(super) fn at_side(mut self, side: usize) -> Result<Self, LoadError> {
        let (h, w) = match self.input.shape[..] {
            [1, h, w, _] if h == w && h > 0 => (h, w),
            _ => return Err(bad("only a square input can be rescaled".into())),
        };
        let scale = |n: usize| {
            (n * side)
                .is_multiple_of(h)
                .then_some(n * side / h)
                .ok_or_else(|| bad(format!("a side of {n} at {w} does not scale to {side}")))
        };
        let rescale = |shape: &mut Vec<usize>| -> Result<(), LoadError> {
            if let [1, sh, sw, _] = shape[..]
                && (sh, sw) != (1, 1)
            {
                shape[1] = scale(sh)?;
                shape[2] = scale(sw)?;
            }
            Ok(())
        };
        rescale(&mut self.input.shape)?;
        for op in &mut self.ops {
            rescale(&mut op.shape)?;
        }
        Ok(self)
    }
}

fn activation(name: &str) -> Result<Activation, LoadError> {
    match name {
        "" | "NONE" => Ok(Activation::None),
        "RELU" => Ok(Activation::Relu),
        "RELU6" => Ok(Activation::Relu6),
        other => Err(bad(format!("activation {other} is not supported"))),
    }
}

impl Hwc {
    fn of(shape: &[usize]) -> Result<Self, LoadError> {
        match shape {
            [1, h, w, c] => Ok(Hwc {
                h: *h,
                w: *w,
                c: *c,
            }),
            _ => Err(bad(format!("expected an NHWC shape, got {shape:?}"))),
        }
    }
}

impl Window {
    /// TFLite's padding: SAME puts the odd pixel after, VALID pads nothing.
    fn new(spec: &OpSpec, k: (usize, usize), input: Hwc, output: Hwc) -> Result<Self, LoadError> {
        let stride = match spec.stride.as_slice() {
            [h, w] if *h > 0 && *w > 0 => (*h, *w),
            _ => return Err(bad(format!("{}: bad strides", spec.op))),
        };
        let before = |inp: usize, out: usize, k: usize, s: usize| {
            ((out - 1) * s + k).saturating_sub(inp) / 2
        };
        let before = match spec.padding.as_str() {
            "SAME" => (
                before(input.h, output.h, k.0, stride.0),
                before(input.w, output.w, k.1, stride.1),
            ),
            "VALID" => (0, 0),
            other => return Err(bad(format!("padding {other} is not supported"))),
        };
        let expect = |inp: usize, k: usize, s: usize| match spec.padding.as_str() {
            "SAME" => inp.div_ceil(s),
            _ => (inp - k) / s + 1,
        };
        if output.h != expect(input.h, k.0, stride.0) || output.w != expect(input.w, k.1, stride.1)
        {
            return Err(bad(format!("{}: output shape does not fit", spec.op)));
        }
        Ok(Window { k, stride, before })
    }
}

pub(super) fn bad(reason: String) -> LoadError {
    LoadError::Weights(reason)
}

fn tensor(st: &SafeTensors, name: &str) -> Result<(Vec<f32>, Vec<usize>), LoadError> {
    let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
    if t.dtype() != safetensors::Dtype::F32 {
        return Err(bad(format!("{name}: {:?}, expected F32", t.dtype())));
    }
    let data = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((data, t.shape().to_vec()))
}

impl Graph {
    pub(super) fn build(file: GraphFile, st: &SafeTensors) -> Result<Self, LoadError> {
        let mut shapes: HashMap<usize, Vec<usize>> = HashMap::new();
        shapes.insert(file.input.tensor, file.input.shape.clone());
        let mut ops = Vec::with_capacity(file.ops.len());
        for spec in &file.ops {
            let in_shapes: Vec<&Vec<usize>> = spec
                .inputs
                .iter()
                .map(|i| {
                    shapes.get(i).ok_or_else(|| {
                        bad(format!("{}: tensor {i} used before it is made", spec.op))
                    })
                })
                .collect::<Result<_, _>>()?;
            let first = in_shapes
                .first()
                .ok_or_else(|| bad(format!("{}: no input", spec.op)))?;
            let out_len: usize = spec.shape.iter().product();
            let in_len: usize = first.iter().product();
            // Reshapes and concatenations of the detector heads are 3-D.
            let hwc = |s: &[usize]| Hwc::of(s).unwrap_or(Hwc { h: 1, w: 1, c: 0 });
            let (in_shape, out_shape) = (hwc(first), hwc(&spec.shape));
            let kind = match spec.op.as_str() {
                "CONV_2D" | "DEPTHWISE_CONV_2D" => {
                    let (in_shape, out_shape) = (Hwc::of(first)?, Hwc::of(&spec.shape)?);
                    let (w, ws) = tensor(st, &spec.weights)?;
                    let (b, bs) = tensor(st, &spec.bias)?;
                    let activation = activation(&spec.activation)?;
                    let [o, kh, kw, i] = ws[..] else {
                        return Err(bad(format!("{}: weights {ws:?}", spec.weights)));
                    };
                    let window = Window::new(spec, (kh, kw), in_shape, out_shape)?;
                    if bs != [out_shape.c] {
                        return Err(bad(format!("{}: bias {bs:?}", spec.bias)));
                    }
                    if spec.op == "CONV_2D" {
                        if o != out_shape.c || i != in_shape.c {
                            return Err(bad(format!("{}: weights {ws:?}", spec.weights)));
                        }
                        // [cout][ky][kx][cin] -> [(ky, kx, cin)][cout]
                        let rows = kh * kw * i;
                        let mut t = vec![0.0; rows * o];
                        for co in 0..o {
                            for r in 0..rows {
                                t[r * o + co] = w[co * rows + r];
                            }
                        }
                        let pointwise = kh == 1 && kw == 1 && window.stride == (1, 1);
                        Kind::Conv(Conv {
                            product: if pointwise && quantized::fast() {
                                Product::Quantized(QuantizedDense::new(&t, &b, rows, o))
                            } else {
                                Product::Float(Dense::new(&t, &b, rows, o))
                            },
                            window,
                            pointwise,
                            activation,
                        })
                    } else {
                        if o != 1 || i != in_shape.c || out_shape.c != in_shape.c || kh != kw {
                            return Err(bad(format!("{}: weights {ws:?}", spec.weights)));
                        }
                        Kind::Depthwise(Depthwise {
                            w,
                            b,
                            window,
                            activation,
                        })
                    }
                }
                "ADD" => {
                    if in_shapes.len() != 2 || in_shapes[0] != in_shapes[1] || **first != spec.shape
                    {
                        return Err(bad("ADD: only same-shape operands".into()));
                    }
                    Kind::Add(activation(&spec.activation)?)
                }
                "RELU" => Kind::Relu,
                "PAD" => {
                    let (i, o) = (Hwc::of(first)?, Hwc::of(&spec.shape)?);
                    let p = &spec.paddings;
                    if p.len() != 4 || p[0] != [0, 0] {
                        return Err(bad("PAD: only NHWC paddings".into()));
                    }
                    if i.h + p[1][0] + p[1][1] != o.h
                        || i.w + p[2][0] + p[2][1] != o.w
                        || i.c + p[3][0] + p[3][1] != o.c
                    {
                        return Err(bad("PAD: output shape does not fit".into()));
                    }
                    Kind::Pad([p[1], p[2], p[3]])
                }
                "MAX_POOL_2D" => {
                    let (i, o) = (Hwc::of(first)?, Hwc::of(&spec.shape)?);
                    let [kh, kw] = spec.filter[..] else {
                        return Err(bad("MAX_POOL_2D: bad filter".into()));
                    };
                    if i.c != o.c {
                        return Err(bad("MAX_POOL_2D: channels differ".into()));
                    }
                    Kind::MaxPool(Window::new(spec, (kh, kw), i, o)?)
                }
                "RESHAPE" => {
                    if in_len != out_len {
                        return Err(bad("RESHAPE: sizes differ".into()));
                    }
                    Kind::Reshape
                }
                "CONCATENATION" => {
                    let rank = spec.shape.len() as i64;
                    let axis = if spec.axis < 0 {
                        spec.axis + rank
                    } else {
                        spec.axis
                    };
                    if !(0..rank).contains(&axis) {
                        return Err(bad("CONCATENATION: bad axis".into()));
                    }
                    let axis = axis as usize;
                    let outer: usize = spec.shape[..axis].iter().product();
                    let total: usize = in_shapes.iter().map(|s| s.iter().product::<usize>()).sum();
                    if total != out_len || in_shapes.iter().any(|s| s.len() != spec.shape.len()) {
                        return Err(bad("CONCATENATION: sizes differ".into()));
                    }
                    Kind::Concat(outer)
                }
                "DEPTH_TO_SPACE" => {
                    let (i, o) = (Hwc::of(first)?, Hwc::of(&spec.shape)?);
                    let b = spec.block;
                    if b == 0 || o.h != i.h * b || o.w != i.w * b || o.c * b * b != i.c {
                        return Err(bad("DEPTH_TO_SPACE: shapes do not fit".into()));
                    }
                    Kind::DepthToSpace(b)
                }
                "RESIZE_BILINEAR" => {
                    let (i, o) = (Hwc::of(first)?, Hwc::of(&spec.shape)?);
                    if i.c != o.c {
                        return Err(bad("RESIZE_BILINEAR: channels differ".into()));
                    }
                    Kind::ResizeBilinear {
                        align_corners: spec.align_corners,
                        half_pixel_centers: spec.half_pixel_centers,
                    }
                }
                "HARD_SWISH" | "HARD_SIGMOID" => {
                    if **first != spec.shape {
                        return Err(bad(format!("{}: shapes differ", spec.op)));
                    }
                    let (offset, scale) = (spec.offset, spec.scale);
                    if spec.op == "HARD_SWISH" {
                        Kind::HardSwish { offset, scale }
                    } else {
                        Kind::HardSigmoid { offset, scale }
                    }
                }
                "MUL" => {
                    let [a, b] = in_shapes[..] else {
                        return Err(bad("MUL: two operands".into()));
                    };
                    let (a, b) = (Hwc::of(a)?, Hwc::of(b)?);
                    let per_channel = (b.h, b.w) == (1, 1) && b.c == a.c && a != b;
                    if (a != b && !per_channel) || **first != spec.shape {
                        return Err(bad("MUL: only same shapes or one value per channel".into()));
                    }
                    Kind::Mul { per_channel }
                }
                "MEAN" => {
                    let (i, o) = (Hwc::of(first)?, Hwc::of(&spec.shape)?);
                    if (o.h, o.w, o.c) != (1, 1, i.c) {
                        return Err(bad("MEAN: only over height and width".into()));
                    }
                    Kind::Mean
                }
                "LOGISTIC" => {
                    if **first != spec.shape {
                        return Err(bad("LOGISTIC: shapes differ".into()));
                    }
                    Kind::Logistic
                }
                other => return Err(bad(format!("operator {other} is not supported"))),
            };
            shapes.insert(spec.out, spec.shape.clone());
            ops.push(Op {
                kind,
                inputs: spec.inputs.clone(),
                in_shape,
                out: spec.out,
                out_shape,
                out_len,
                free: Vec::new(),
            });
        }
        for &t in file.outputs.values() {
            if !shapes.contains_key(&t) {
                return Err(bad(format!("output tensor {t} is never made")));
            }
        }
        fold_pads(&mut ops, &file.outputs);
        // Free each intermediate tensor after its last reader.
        let mut last = HashMap::new();
        for (n, op) in ops.iter().enumerate() {
            for &i in &op.inputs {
                last.insert(i, n);
            }
        }
        for (t, n) in last {
            if !file.outputs.values().any(|&o| o == t) {
                ops[n].free.push(t);
            }
        }
        let tensors = shapes.keys().max().map_or(0, |m| m + 1);
        let output_lens = file
            .outputs
            .iter()
            .map(|(name, t)| (name.clone(), shapes[t].iter().product()))
            .collect();
        Ok(Graph {
            input: file.input.tensor,
            input_shape: Hwc::of(&file.input.shape)?,
            ops,
            outputs: file.outputs,
            output_lens,
            tensors,
        })
    }
}

/// Folds spatial zero padding into the windowed convolutions that read it
/// (TFLite pads explicitly before its VALID stride-2 convolutions): a
/// window already reads zeros outside its input, so the padded copy need
/// not be made.
fn fold_pads(ops: &mut Vec<Op>, outputs: &HashMap<String, usize>) {
    let windowed = |kind: &Kind| match kind {
        Kind::Depthwise(_) => true,
        Kind::Conv(c) => !c.pointwise,
        _ => false,
    };
    let mut n = 0;
    while n < ops.len() {
        let Kind::Pad(p) = ops[n].kind else {
            n += 1;
            continue;
        };
        let padded = ops[n].out;
        let readers: Vec<usize> = (0..ops.len())
            .filter(|&m| ops[m].inputs.contains(&padded))
            .collect();
        let foldable = p[2] == [0, 0]
            && !outputs.values().any(|&o| o == padded)
            && !readers.is_empty()
            && readers
                .iter()
                .all(|&m| ops[m].inputs.len() == 1 && windowed(&ops[m].kind));
        if !foldable {
            n += 1;
            continue;
        }
        let (source, shape) = (ops[n].inputs[0], ops[n].in_shape);
        for &m in &readers {
            let reader = &mut ops[m];
            let window = match &mut reader.kind {
                Kind::Depthwise(d) => &mut d.window,
                Kind::Conv(c) => &mut c.window,
                _ => unreachable!("only windowed readers are folded"),
            };
            window.before.0 += p[0][0];
            window.before.1 += p[1][0];
            reader.inputs[0] = source;
            reader.in_shape = shape;
        }
        ops.remove(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_rescales_its_spatial_sizes() {
        let file = |json: &str| serde_json::from_str::<GraphFile>(json).unwrap();
        let graph = r#"{"input": {"tensor": 0, "shape": [1, 8, 8, 3]}, "outputs": {"y": 2},
            "ops": [{"op": "CONV_2D", "in": [0], "out": 1, "shape": [1, 4, 4, 8]},
                    {"op": "MEAN", "in": [1], "out": 2, "shape": [1, 1, 1, 8]}]}"#;
        let half = file(graph).at_side(4).unwrap();
        assert_eq!(half.input.shape, [1, 4, 4, 3]);
        assert_eq!(half.ops[0].shape, [1, 2, 2, 8]);
        assert_eq!(half.ops[1].shape, [1, 1, 1, 8], "a mean stays 1x1");
        // 4 at 8 would be 2.5 at 5.
        assert!(file(graph).at_side(5).is_err());
    }
}
