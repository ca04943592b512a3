//! A small interpreter for the float graphs the fetch scripts convert:
//! scripts/fetch-detectors.py from TFLite (the people detectors),
//! scripts/fetch-objects.py from TensorFlow.js (the object detector).
//! Fifteen ops in NHWC layout, batch 1, named as TFLite names them.
//!
//! 1x1 convolutions (most of the work) are products in 8 bits where the
//! CPU has AVX-512 VNNI (`tagger::quantized`: per-channel weights, per-pixel
//! inputs; on the test photos face scores move by at most 0.002, body scores
//! by at most 0.07), in f32 elsewhere; other convolutions go through im2col
//! into f32 products (`tagger::dense`). Depthwise convolutions share the
//! classifier's kernels (`tagger::depthwise`). Explicit spatial padding is
//! folded into the windows that read it.

use safetensors::SafeTensors;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::tagger::dense::{Activation, Dense};
use crate::tagger::depthwise::{self, Geometry};
use crate::tagger::local::LoadError;
use crate::tagger::quantized::{self, QuantizedDense};

#[derive(Deserialize)]
struct GraphFile {
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

fn activation(name: &str) -> Result<Activation, LoadError> {
    match name {
        "" | "NONE" => Ok(Activation::None),
        "RELU" => Ok(Activation::Relu),
        "RELU6" => Ok(Activation::Relu6),
        other => Err(bad(format!("activation {other} is not supported"))),
    }
}

/// Height, width, channels of an NHWC tensor with batch 1.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hwc {
    h: usize,
    w: usize,
    c: usize,
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

/// Where a window starts: `before` padding rows precede the input.
#[derive(Clone, Copy)]
struct Window {
    k: (usize, usize),
    stride: (usize, usize),
    before: (usize, usize),
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

    /// The input row (or column) a tap reads, if inside the image.
    #[inline(always)]
    fn source(o: usize, s: usize, t: usize, before: usize, len: usize) -> Option<usize> {
        (o * s + t).checked_sub(before).filter(|&i| i < len)
    }
}

/// A convolution as a product: `[rows][cout]` weights, rows ordered (ky, kx, cin).
struct Conv {
    product: Product,
    window: Window,
    /// 1x1, stride 1: the input is already the GEMM's left matrix.
    pointwise: bool,
    activation: Activation,
}

enum Product {
    /// 1x1 convolutions, where the CPU multiplies bytes fast.
    Quantized(QuantizedDense),
    /// The other convolutions (im2col'd), and 1x1 ones on other CPUs.
    Float(Dense),
}

struct Depthwise {
    /// `[ky][kx][c]`.
    w: Vec<f32>,
    b: Vec<f32>,
    window: Window,
    activation: Activation,
}

enum Kind {
    Conv(Conv),
    Depthwise(Depthwise),
    Add(Activation),
    Relu,
    Pad([[usize; 2]; 3]),
    MaxPool(Window),
    Reshape,
    /// Outer count (the product of the dimensions before the axis).
    Concat(usize),
    DepthToSpace(usize),
    ResizeBilinear {
        align_corners: bool,
        half_pixel_centers: bool,
    },
    /// MobileNetV3's `x * relu6(x + offset) * scale`.
    HardSwish {
        offset: f32,
        scale: f32,
    },
    /// Its gate: `relu6(x + offset) * scale`.
    HardSigmoid {
        offset: f32,
        scale: f32,
    },
    /// Elementwise product; the second operand is the same shape or one
    /// value per channel (squeeze-and-excitation's gate).
    Mul {
        per_channel: bool,
    },
    /// The mean over height and width, per channel.
    Mean,
    Logistic,
}

impl Op {
    /// What the op is, for measurements: "1x1 conv", "dw 5x5", ...
    fn label(&self) -> String {
        match &self.kind {
            Kind::Conv(c) if c.pointwise => "1x1 conv".into(),
            Kind::Conv(c) => format!("conv {}x{}", c.window.k.0, c.window.k.1),
            Kind::Depthwise(d) => format!("depthwise {}x{}", d.window.k.0, d.window.k.1),
            Kind::Add(_) => "add".into(),
            Kind::Relu => "relu".into(),
            Kind::Pad(_) => "pad".into(),
            Kind::MaxPool(_) => "max pool".into(),
            Kind::Reshape => "reshape".into(),
            Kind::Concat(_) => "concat".into(),
            Kind::DepthToSpace(_) => "depth to space".into(),
            Kind::ResizeBilinear { .. } => "resize".into(),
            Kind::HardSwish { .. } => "hard swish".into(),
            Kind::HardSigmoid { .. } => "hard sigmoid".into(),
            Kind::Mul { .. } => "mul".into(),
            Kind::Mean => "mean".into(),
            Kind::Logistic => "logistic".into(),
        }
    }
}

struct Op {
    kind: Kind,
    inputs: Vec<usize>,
    in_shape: Hwc,
    out: usize,
    out_shape: Hwc,
    out_len: usize,
    /// Tensors no later op reads, freed after this one.
    free: Vec<usize>,
}

pub struct Graph {
    input: usize,
    input_shape: Hwc,
    ops: Vec<Op>,
    outputs: HashMap<String, usize>,
    /// Each output's length, from the shapes checked at load.
    output_lens: HashMap<String, usize>,
    tensors: usize,
}

fn bad(reason: String) -> LoadError {
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
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|e| LoadError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("{e}")))?;
        let graph = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("graph"))
            .ok_or_else(|| bad("no graph in the safetensors metadata".into()))?;
        let file: GraphFile =
            serde_json::from_str(graph).map_err(|e| bad(format!("graph: {e}")))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        Self::build(file, &st)
    }

    fn build(file: GraphFile, st: &SafeTensors) -> Result<Self, LoadError> {
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

    /// How many values the named output holds, if the graph has it.
    pub fn output_len(&self, name: &str) -> Option<usize> {
        self.output_lens.get(name).copied()
    }

    /// Input (height, width).
    pub fn input_size(&self) -> (usize, usize) {
        (self.input_shape.h, self.input_shape.w)
    }

    /// Runs the graph on an `[h][w][c]` input; returns the named outputs.
    pub fn run(&self, input: Vec<f32>) -> HashMap<String, Vec<f32>> {
        self.run_observed(input, |_, _| {})
    }

    /// Runs the graph and adds each op's time to `spent`, by the op's
    /// label (for measurements).
    pub fn run_timed(&self, input: Vec<f32>, spent: &mut Vec<(String, Duration)>) {
        self.run_observed(input, |op, took| {
            let label = op.label();
            match spent.iter_mut().find(|(l, _)| *l == label) {
                Some((_, d)) => *d += took,
                None => spent.push((label, took)),
            }
        });
    }

    fn run_observed(
        &self,
        input: Vec<f32>,
        mut observe: impl FnMut(&Op, Duration),
    ) -> HashMap<String, Vec<f32>> {
        let s = self.input_shape;
        assert_eq!(input.len(), s.h * s.w * s.c);
        let mut values: Vec<Option<Vec<f32>>> = vec![None; self.tensors];
        values[self.input] = Some(input);
        for op in &self.ops {
            let started = Instant::now();
            let get = |i: usize| values[i].as_deref().expect("the graph is ordered");
            let x = get(op.inputs[0]);
            let (i, o) = (op.in_shape, op.out_shape);
            let out = match &op.kind {
                Kind::Conv(c) => c.forward(x, i, o),
                Kind::Depthwise(d) => d.forward(x, i, o),
                Kind::Add(act) => {
                    let mut out = x.to_vec();
                    for (a, b) in out.iter_mut().zip(get(op.inputs[1])) {
                        *a += b;
                    }
                    if *act != Activation::None {
                        for a in out.iter_mut() {
                            *a = act.apply(*a);
                        }
                    }
                    out
                }
                Kind::Relu => x.iter().map(|v| v.max(0.0)).collect(),
                Kind::Pad(p) => pad(x, i, o, p),
                Kind::MaxPool(win) => max_pool(x, i, o, win),
                Kind::Reshape => x.to_vec(),
                Kind::Concat(outer) => {
                    let mut out = Vec::with_capacity(op.out_len);
                    for n in 0..*outer {
                        for &t in &op.inputs {
                            let v = get(t);
                            let chunk = v.len() / outer;
                            out.extend_from_slice(&v[n * chunk..][..chunk]);
                        }
                    }
                    out
                }
                Kind::DepthToSpace(b) => depth_to_space(x, i, o, *b),
                Kind::ResizeBilinear {
                    align_corners,
                    half_pixel_centers,
                } => resize_bilinear(x, i, o, *align_corners, *half_pixel_centers),
                &Kind::HardSwish { offset, scale } => x
                    .iter()
                    .map(|&v| v * (v + offset).clamp(0.0, 6.0) * scale)
                    .collect(),
                &Kind::HardSigmoid { offset, scale } => x
                    .iter()
                    .map(|&v| (v + offset).clamp(0.0, 6.0) * scale)
                    .collect(),
                Kind::Mul { per_channel } => {
                    let y = get(op.inputs[1]);
                    let mut out = x.to_vec();
                    if *per_channel {
                        for px in out.chunks_exact_mut(i.c) {
                            for (a, b) in px.iter_mut().zip(y) {
                                *a *= b;
                            }
                        }
                    } else {
                        for (a, b) in out.iter_mut().zip(y) {
                            *a *= b;
                        }
                    }
                    out
                }
                Kind::Mean => mean(x, i),
                Kind::Logistic => x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect(),
            };
            debug_assert_eq!(out.len(), op.out_len);
            for &t in &op.free {
                values[t] = None;
            }
            values[op.out] = Some(out);
            observe(op, started.elapsed());
        }
        self.outputs
            .iter()
            .map(|(name, &t)| (name.clone(), values[t].take().unwrap_or_default()))
            .collect()
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

impl Conv {
    fn forward(&self, x: &[f32], i: Hwc, o: Hwc) -> Vec<f32> {
        let pixels = o.h * o.w;
        match &self.product {
            Product::Quantized(q) => q.forward(x, pixels, self.activation),
            Product::Float(d) if self.pointwise => d.forward(x, pixels, self.activation),
            Product::Float(d) => d.forward(&self.im2col(x, i, o), pixels, self.activation),
        }
    }

    /// One row per output pixel holding its (ky, kx, cin) window, zeros outside.
    fn im2col(&self, x: &[f32], i: Hwc, o: Hwc) -> Vec<f32> {
        let Window { k, stride, before } = self.window;
        let row = k.0 * k.1 * i.c;
        let mut cols = vec![0.0f32; o.h * o.w * row];
        for oy in 0..o.h {
            for ox in 0..o.w {
                let dst = &mut cols[(oy * o.w + ox) * row..][..row];
                for ky in 0..k.0 {
                    let Some(iy) = Window::source(oy, stride.0, ky, before.0, i.h) else {
                        continue;
                    };
                    for kx in 0..k.1 {
                        let Some(ix) = Window::source(ox, stride.1, kx, before.1, i.w) else {
                            continue;
                        };
                        dst[(ky * k.1 + kx) * i.c..][..i.c]
                            .copy_from_slice(&x[(iy * i.w + ix) * i.c..][..i.c]);
                    }
                }
            }
        }
        cols
    }
}

impl Depthwise {
    fn forward(&self, x: &[f32], i: Hwc, o: Hwc) -> Vec<f32> {
        let Window { k, stride, before } = self.window;
        let geometry = Geometry {
            input: (i.h, i.w, i.c),
            output: (o.h, o.w),
            k: k.0,
            stride,
            before,
        };
        depthwise::forward(x, &self.w, &self.b, geometry, self.activation)
    }
}

/// Zero padding of height, width and channels.
fn pad(x: &[f32], i: Hwc, o: Hwc, p: &[[usize; 2]; 3]) -> Vec<f32> {
    let mut out = vec![0.0f32; o.h * o.w * o.c];
    for y in 0..i.h {
        for xx in 0..i.w {
            let src = &x[(y * i.w + xx) * i.c..][..i.c];
            let at = ((y + p[0][0]) * o.w + xx + p[1][0]) * o.c + p[2][0];
            out[at..at + i.c].copy_from_slice(src);
        }
    }
    out
}

fn max_pool(x: &[f32], i: Hwc, o: Hwc, win: &Window) -> Vec<f32> {
    let c = i.c;
    let mut out = vec![f32::NEG_INFINITY; o.h * o.w * c];
    for oy in 0..o.h {
        for ox in 0..o.w {
            let acc = &mut out[(oy * o.w + ox) * c..][..c];
            for ky in 0..win.k.0 {
                let Some(iy) = Window::source(oy, win.stride.0, ky, win.before.0, i.h) else {
                    continue;
                };
                for kx in 0..win.k.1 {
                    let Some(ix) = Window::source(ox, win.stride.1, kx, win.before.1, i.w) else {
                        continue;
                    };
                    for (a, v) in acc.iter_mut().zip(&x[(iy * i.w + ix) * c..][..c]) {
                        *a = a.max(*v);
                    }
                }
            }
        }
    }
    out
}

/// Per-channel mean over all pixels, summed in f64 (a 128x128 map of
/// small values would lose digits in f32).
fn mean(x: &[f32], i: Hwc) -> Vec<f32> {
    let mut sum = vec![0.0f64; i.c];
    for px in x.chunks_exact(i.c) {
        for (s, &v) in sum.iter_mut().zip(px) {
            *s += f64::from(v);
        }
    }
    let n = (i.h * i.w) as f64;
    sum.into_iter().map(|s| (s / n) as f32).collect()
}

/// TensorFlow's DCR order: input channel `(dy * b + dx) * c_out + c`.
fn depth_to_space(x: &[f32], i: Hwc, o: Hwc, b: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; o.h * o.w * o.c];
    for y in 0..i.h {
        for xx in 0..i.w {
            let src = &x[(y * i.w + xx) * i.c..][..i.c];
            for dy in 0..b {
                for dx in 0..b {
                    let at = ((y * b + dy) * o.w + xx * b + dx) * o.c;
                    out[at..at + o.c].copy_from_slice(&src[(dy * b + dx) * o.c..][..o.c]);
                }
            }
        }
    }
    out
}

/// TFLite's RESIZE_BILINEAR, for its two coordinate conventions.
fn resize_bilinear(x: &[f32], i: Hwc, o: Hwc, align_corners: bool, half_pixel: bool) -> Vec<f32> {
    let scale = |inp: usize, out: usize| {
        if align_corners && out > 1 {
            (inp - 1) as f32 / (out - 1) as f32
        } else {
            inp as f32 / out as f32
        }
    };
    let (sy, sx) = (scale(i.h, o.h), scale(i.w, o.w));
    let source = |o: usize, s: f32, len: usize| {
        let v = if half_pixel {
            ((o as f32 + 0.5) * s - 0.5).max(0.0)
        } else {
            o as f32 * s
        };
        let lo = (v.floor() as usize).min(len - 1);
        let hi = (lo + 1).min(len - 1);
        (lo, hi, v - lo as f32)
    };
    let c = i.c;
    let mut out = vec![0.0f32; o.h * o.w * c];
    for oy in 0..o.h {
        let (y0, y1, fy) = source(oy, sy, i.h);
        for ox in 0..o.w {
            let (x0, x1, fx) = source(ox, sx, i.w);
            let px = |y: usize, xx: usize| &x[(y * i.w + xx) * c..][..c];
            let (a, b, cc, d) = (px(y0, x0), px(y0, x1), px(y1, x0), px(y1, x1));
            let dst = &mut out[(oy * o.w + ox) * c..][..c];
            for (ch, v) in dst.iter_mut().enumerate() {
                let top = a[ch] + (b[ch] - a[ch]) * fx;
                let bottom = cc[ch] + (d[ch] - cc[ch]) * fx;
                *v = top + (bottom - top) * fy;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_to_space_is_dcr() {
        // One pixel, 4 channels -> 2x2 pixels of one channel each.
        let i = Hwc { h: 1, w: 1, c: 4 };
        let o = Hwc { h: 2, w: 2, c: 1 };
        assert_eq!(
            depth_to_space(&[1.0, 2.0, 3.0, 4.0], i, o, 2),
            [1.0, 2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn bilinear_doubling_without_half_pixels() {
        let i = Hwc { h: 1, w: 2, c: 1 };
        let o = Hwc { h: 1, w: 4, c: 1 };
        assert_eq!(
            resize_bilinear(&[0.0, 1.0], i, o, false, false),
            [0.0, 0.5, 1.0, 1.0]
        );
        assert_eq!(
            resize_bilinear(&[0.0, 1.0], i, o, false, true),
            [0.0, 0.25, 0.75, 1.0]
        );
    }
}
