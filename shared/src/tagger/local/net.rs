//! EfficientNet-Lite (ImageNet-1k) inference on one image, in NHWC layout,
//! by one network or the mean of several (an ensemble).
//!
//! Batch norms are folded into the convolutions at load time. The 1x1
//! convolutions (most of the 0.4–0.9 GFLOP of a network) and the stem (after
//! im2col) are single-precision products (`tagger::dense`); the depthwise
//! convolutions are `tagger::depthwise`'s.

use crate::tagger::dense::{Activation, Dense};
use crate::tagger::depthwise::{self, Geometry};
use image::RgbImage;
use rayon::prelude::*;
use safetensors::SafeTensors;
use std::path::Path;

use super::preprocess::prepare;

pub const CLASSES: usize = 1000;
const BN_EPS: f32 = 1e-3;
/// Stem and head widths, the same in every Lite network.
const STEM: usize = 32;
const HEAD: usize = 1280;

/// (repeats, kernel, stride, expand ratio, input channels, output channels)
/// per stage (no squeeze-excite, ReLU6).
type Stages = [(usize, usize, usize, usize, usize, usize); 7];

/// One member of the family: its tensors are named `<name>/...` in the file.
pub struct Variant {
    pub name: &'static str,
    /// Input side, in pixels.
    pub size: usize,
    stages: Stages,
}

/// Lite1 and Lite2 scale Lite0's depth by 1.1 and 1.2 (the first and last
/// stages fixed) and Lite2 its width by 1.1 (rounded to multiples of 8).
pub const VARIANTS: [Variant; 3] = [
    Variant {
        name: "lite0",
        size: 224,
        stages: [
            (1, 3, 1, 1, 32, 16),
            (2, 3, 2, 6, 16, 24),
            (2, 5, 2, 6, 24, 40),
            (3, 3, 2, 6, 40, 80),
            (3, 5, 1, 6, 80, 112),
            (4, 5, 2, 6, 112, 192),
            (1, 3, 1, 6, 192, 320),
        ],
    },
    Variant {
        name: "lite1",
        size: 240,
        stages: [
            (1, 3, 1, 1, 32, 16),
            (3, 3, 2, 6, 16, 24),
            (3, 5, 2, 6, 24, 40),
            (4, 3, 2, 6, 40, 80),
            (4, 5, 1, 6, 80, 112),
            (5, 5, 2, 6, 112, 192),
            (1, 3, 1, 6, 192, 320),
        ],
    },
    Variant {
        name: "lite2",
        size: 260,
        stages: [
            (1, 3, 1, 1, 32, 16),
            (3, 3, 2, 6, 16, 24),
            (3, 5, 2, 6, 24, 48),
            (4, 3, 2, 6, 48, 88),
            (4, 5, 1, 6, 88, 120),
            (5, 5, 2, 6, 120, 208),
            (1, 3, 1, 6, 208, 352),
        ],
    },
];

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("bad weights: {0}")]
    Weights(String),
}

/// A 1x1 convolution with its batch norm folded in: weights `[cin][cout]`.
struct Pointwise(Dense);

/// A depthwise k x k convolution, weights `[ky][kx][c]`, batch norm folded in.
struct Depthwise {
    w: Vec<f32>,
    b: Vec<f32>,
    k: usize,
    stride: usize,
    c: usize,
}

struct Block {
    expand: Option<Pointwise>,
    depthwise: Depthwise,
    project: Pointwise,
    residual: bool,
}

/// One network.
pub struct EfficientNet {
    variant: &'static Variant,
    /// Stem 3x3/2 convolution as a GEMM over im2col rows: weights `[27][32]`.
    stem: Pointwise,
    blocks: Vec<Block>,
    head: Pointwise,
    /// Classifier `[1280][1000]` and bias.
    fc: Pointwise,
}

/// The networks of one weights file; their probabilities are averaged.
pub struct Classifier {
    nets: Vec<EfficientNet>,
}

/// A file's tensors of one network, `<prefix>/<name>`.
struct Weights<'a> {
    file: &'a SafeTensors<'a>,
    prefix: &'static str,
}

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, LoadError> {
        let name = format!("{}/{name}", self.prefix);
        let name = name.as_str();
        let t = self
            .file
            .tensor(name)
            .map_err(|e| LoadError::Weights(format!("{name}: {e}")))?;
        if t.dtype() != safetensors::Dtype::F32 || t.shape() != shape {
            return Err(LoadError::Weights(format!(
                "{name}: {:?} {:?}, expected F32 {shape:?}",
                t.dtype(),
                t.shape()
            )));
        }
        Ok(t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Per-channel (scale, shift) of a batch norm in inference mode.
    fn batch_norm(&self, prefix: &str, c: usize) -> Result<(Vec<f32>, Vec<f32>), LoadError> {
        let gamma = self.get(&format!("{prefix}.weight"), &[c])?;
        let beta = self.get(&format!("{prefix}.bias"), &[c])?;
        let mean = self.get(&format!("{prefix}.running_mean"), &[c])?;
        let var = self.get(&format!("{prefix}.running_var"), &[c])?;
        let scale: Vec<f32> = (0..c)
            .map(|i| gamma[i] / (var[i] + BN_EPS).sqrt())
            .collect();
        let shift = (0..c).map(|i| beta[i] - mean[i] * scale[i]).collect();
        Ok((scale, shift))
    }

    /// A `[cout, cin, 1, 1]` convolution and its batch norm → `[cin][cout]`.
    fn pointwise(
        &self,
        conv: &str,
        bn: &str,
        cin: usize,
        cout: usize,
    ) -> Result<Pointwise, LoadError> {
        let w = self.get(&format!("{conv}.weight"), &[cout, cin, 1, 1])?;
        let (scale, b) = self.batch_norm(bn, cout)?;
        let mut t = vec![0.0; cin * cout];
        for co in 0..cout {
            for ci in 0..cin {
                t[ci * cout + co] = w[co * cin + ci] * scale[co];
            }
        }
        Ok(Pointwise(Dense::new(&t, &b, cin, cout)))
    }

    fn depthwise(
        &self,
        conv: &str,
        bn: &str,
        c: usize,
        k: usize,
        stride: usize,
    ) -> Result<Depthwise, LoadError> {
        let w = self.get(&format!("{conv}.weight"), &[c, 1, k, k])?;
        let (scale, b) = self.batch_norm(bn, c)?;
        let mut t = vec![0.0; k * k * c];
        for ch in 0..c {
            for tap in 0..k * k {
                t[tap * c + ch] = w[ch * k * k + tap] * scale[ch];
            }
        }
        Ok(Depthwise {
            w: t,
            b,
            k,
            stride,
            c,
        })
    }
}

/// TF "same" padding: the output is ceil(input / stride) and the padding
/// goes after rather than before when it is odd ((0,1) for 3x3/2, (1,2) for 5x5/2).
fn same_padding(input: usize, k: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + k).saturating_sub(input);
    (out, total / 2)
}

impl Pointwise {
    /// `x` is `[pixels][cin]`; returns `[pixels][cout]`, ReLU6'd if `activate`.
    fn forward(&self, x: &[f32], pixels: usize, activate: bool) -> Vec<f32> {
        let activation = if activate {
            Activation::Relu6
        } else {
            Activation::None
        };
        self.0.forward(x, pixels, activation)
    }
}

impl Depthwise {
    /// `x` is `[h][w][c]`; returns the activated output and its side.
    fn forward(&self, x: &[f32], h: usize, w: usize) -> (Vec<f32>, usize, usize) {
        let (oh, pad_y) = same_padding(h, self.k, self.stride);
        let (ow, pad_x) = same_padding(w, self.k, self.stride);
        let geometry = Geometry {
            input: (h, w, self.c),
            output: (oh, ow),
            k: self.k,
            stride: (self.stride, self.stride),
            before: (pad_y, pad_x),
        };
        let out = depthwise::forward(x, &self.w, &self.b, geometry, Activation::Relu6);
        (out, oh, ow)
    }
}

impl Classifier {
    /// Every network of the file, in the order of `VARIANTS`.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|e| LoadError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let file =
            SafeTensors::deserialize(&bytes).map_err(|e| LoadError::Weights(e.to_string()))?;
        let nets = VARIANTS
            .iter()
            .filter(|v| {
                file.names()
                    .iter()
                    .any(|n| n.split_once('/').is_some_and(|(p, _)| p == v.name))
            })
            .map(|v| {
                EfficientNet::from_weights(
                    v,
                    &Weights {
                        file: &file,
                        prefix: v.name,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nets.is_empty() {
            return Err(LoadError::Weights(format!(
                "{} holds none of the networks {}",
                path.display(),
                VARIANTS.map(|v| v.name).join(", ")
            )));
        }
        Ok(Classifier { nets })
    }

    /// The networks' names (`lite1`, `lite2`).
    pub fn nets(&self) -> Vec<&'static str> {
        self.nets.iter().map(|n| n.variant.name).collect()
    }

    /// Class probabilities: the mean of the networks', each given the
    /// image at its own size, side by side on rayon's pool.
    pub fn classify(&self, img: &RgbImage) -> Vec<f32> {
        let each = self.classify_each(img);
        let n = each.len() as f32;
        (0..CLASSES)
            .map(|c| each.iter().map(|p| p[c]).sum::<f32>() / n)
            .collect()
    }

    /// Each network's class probabilities, in the order of `nets`.
    pub fn classify_each(&self, img: &RgbImage) -> Vec<Vec<f32>> {
        let sides: Vec<usize> = self.nets.iter().map(|n| n.variant.size).collect();
        self.classify_each_at(img, &sides)
    }

    /// The same with each network's input at another side (the networks
    /// pool globally, so any side runs), for measuring what a side gives.
    pub fn classify_each_at(&self, img: &RgbImage, sides: &[usize]) -> Vec<Vec<f32>> {
        self.nets
            .par_iter()
            .zip(sides)
            .map(|(net, &side)| net.classify(&prepare(img, side), side))
            .collect()
    }
}

impl EfficientNet {
    fn from_weights(variant: &'static Variant, w: &Weights) -> Result<Self, LoadError> {
        let stem_w = w.get("_conv_stem.weight", &[STEM, 3, 3, 3])?;
        let (scale, b) = w.batch_norm("_bn0", STEM)?;
        // im2col rows are ordered (ky, kx, channel).
        let mut stem = vec![0.0; 27 * STEM];
        for co in 0..STEM {
            for ci in 0..3 {
                for ky in 0..3 {
                    for kx in 0..3 {
                        stem[((ky * 3 + kx) * 3 + ci) * STEM + co] =
                            stem_w[((co * 3 + ci) * 3 + ky) * 3 + kx] * scale[co];
                    }
                }
            }
        }
        let stem = Pointwise(Dense::new(&stem, &b, 27, STEM));

        let mut blocks = Vec::new();
        for &(repeats, k, stride, expand, cin, cout) in &variant.stages {
            for r in 0..repeats {
                let (cin, stride) = if r == 0 { (cin, stride) } else { (cout, 1) };
                let i = blocks.len();
                let p = format!("_blocks.{i}");
                let mid = cin * expand;
                blocks.push(Block {
                    expand: (expand != 1)
                        .then(|| {
                            w.pointwise(
                                &format!("{p}._expand_conv"),
                                &format!("{p}._bn0"),
                                cin,
                                mid,
                            )
                        })
                        .transpose()?,
                    depthwise: w.depthwise(
                        &format!("{p}._depthwise_conv"),
                        &format!("{p}._bn1"),
                        mid,
                        k,
                        stride,
                    )?,
                    project: w.pointwise(
                        &format!("{p}._project_conv"),
                        &format!("{p}._bn2"),
                        mid,
                        cout,
                    )?,
                    residual: stride == 1 && cin == cout,
                });
            }
        }
        let last = variant.stages[variant.stages.len() - 1].5;
        let head = w.pointwise("_conv_head", "_bn1", last, HEAD)?;
        let fc_w = w.get("_fc.weight", &[CLASSES, HEAD])?;
        let mut fc = vec![0.0; HEAD * CLASSES];
        for o in 0..CLASSES {
            for i in 0..HEAD {
                fc[i * CLASSES + o] = fc_w[o * HEAD + i];
            }
        }
        let fc = Pointwise(Dense::new(
            &fc,
            &w.get("_fc.bias", &[CLASSES])?,
            HEAD,
            CLASSES,
        ));
        Ok(EfficientNet {
            variant,
            stem,
            blocks,
            head,
            fc,
        })
    }

    /// Class probabilities for a `[size][size][3]` image normalised to about -1..1.
    fn classify(&self, image: &[f32], size: usize) -> Vec<f32> {
        assert_eq!(image.len(), size * size * 3);
        let (oh, pad) = same_padding(size, 3, 2);
        let mut cols = vec![0.0f32; oh * oh * 27];
        for oy in 0..oh {
            for ox in 0..oh {
                let row = &mut cols[(oy * oh + ox) * 27..][..27];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let (Some(iy), Some(ix)) = (
                            (oy * 2 + ky).checked_sub(pad),
                            (ox * 2 + kx).checked_sub(pad),
                        ) else {
                            continue;
                        };
                        if iy < size && ix < size {
                            row[(ky * 3 + kx) * 3..][..3]
                                .copy_from_slice(&image[(iy * size + ix) * 3..][..3]);
                        }
                    }
                }
            }
        }
        let (mut x, mut h, mut w) = (self.stem.forward(&cols, oh * oh, true), oh, oh);
        for block in &self.blocks {
            let expanded = match &block.expand {
                Some(e) => e.forward(&x, h * w, true),
                None => x.clone(),
            };
            let (d, dh, dw) = block.depthwise.forward(&expanded, h, w);
            let mut y = block.project.forward(&d, dh * dw, false);
            if block.residual {
                for (a, b) in y.iter_mut().zip(&x) {
                    *a += b;
                }
            }
            (x, h, w) = (y, dh, dw);
        }
        let features = self.head.forward(&x, h * w, true);
        let mut pooled = vec![0.0f32; HEAD];
        for row in features.chunks_exact(HEAD) {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += v;
            }
        }
        let n = (h * w) as f32;
        pooled.iter_mut().for_each(|p| *p /= n);
        let logits = self.fc.forward(&pooled, 1, false);
        softmax(&logits)
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_same_padding() {
        assert_eq!(same_padding(224, 3, 2), (112, 0)); // pads (0, 1)
        assert_eq!(same_padding(56, 5, 2), (28, 1)); // pads (1, 2)
        assert_eq!(same_padding(14, 5, 1), (14, 2));
        assert_eq!(same_padding(7, 3, 1), (7, 1));
    }

    #[test]
    fn softmax_sums_to_one() {
        let p = softmax(&[1.0, 2.0, 3.0, 1000.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[3] > 0.999);
    }
}
