//! The graph's ops: what each is (`Kind`), as the graph holds it (`Op`),
//! and how it computes its output from its inputs.

use crate::tagger::dense::{Activation, Dense};
use crate::tagger::depthwise::{self, Geometry};
use crate::tagger::quantized::QuantizedDense;

/// Height, width, channels of an NHWC tensor with batch 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Hwc {
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) c: usize,
}

/// Where a window starts: `before` padding rows precede the input.
#[derive(Clone, Copy)]
pub(super) struct Window {
    pub(super) k: (usize, usize),
    pub(super) stride: (usize, usize),
    pub(super) before: (usize, usize),
}

impl Window {
    /// The input row (or column) a tap reads, if inside the image.
    #[inline(always)]
    pub(super) fn source(o: usize, s: usize, t: usize, before: usize, len: usize) -> Option<usize> {
        (o * s + t).checked_sub(before).filter(|&i| i < len)
    }
}

/// A convolution as a product: `[rows][cout]` weights, rows ordered (ky, kx, cin).
pub(super) struct Conv {
    pub(super) product: Product,
    pub(super) window: Window,
    /// 1x1, stride 1: the input is already the GEMM's left matrix.
    pub(super) pointwise: bool,
    pub(super) activation: Activation,
}

pub(super) enum Product {
    /// 1x1 convolutions, where the CPU multiplies bytes fast.
    Quantized(QuantizedDense),
    /// The other convolutions (im2col'd), and 1x1 ones on other CPUs.
    Float(Dense),
}

pub(super) struct Depthwise {
    /// `[ky][kx][c]`.
    pub(super) w: Vec<f32>,
    pub(super) b: Vec<f32>,
    pub(super) window: Window,
    pub(super) activation: Activation,
}

pub(super) enum Kind {
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

pub(super) struct Op {
    pub(super) kind: Kind,
    pub(super) inputs: Vec<usize>,
    pub(super) in_shape: Hwc,
    pub(super) out: usize,
    pub(super) out_shape: Hwc,
    pub(super) out_len: usize,
    /// Tensors no later op reads, freed after this one.
    pub(super) free: Vec<usize>,
}

impl Op {
    /// What the op is, for measurements: "1x1 conv", "dw 5x5", ...
    pub(super) fn label(&self) -> String {
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

impl Op {
    /// The op's output from `values`, the tensors made so far (its inputs
    /// among them).
    pub(super) fn forward(&self, values: &[Option<Vec<f32>>]) -> Vec<f32> {
        let op = self;
        let get = |i: usize| values[i].as_deref().expect("the graph is ordered");
        let x = get(op.inputs[0]);
        let (i, o) = (op.in_shape, op.out_shape);
        match &op.kind {
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
        }
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
