//! Depthwise convolutions in NHWC, shared by the classifier and the people
//! detectors: `out[y][x][c] = act(b[c] + Σ w[ky][kx][c] · in[y·s + ky - top][x·s + kx - left][c])`,
//! zero outside the input (so a TFLite PAD before a VALID convolution folds
//! into `top` and `left`).
//!
//! With AVX-512 each output row is computed 16 channels at a time with that
//! block's 9 or 25 weight vectors held in registers, and the border's bounds
//! checks kept out of the interior; other CPUs run the plain loops, which
//! the compiler vectorises for AVX2 where the CPU has it.

use crate::dense::Activation;

/// Where the window of output (0, 0) starts and how it moves.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    /// Input height, width, channels.
    pub input: (usize, usize, usize),
    /// Output height, width (channels as the input's).
    pub output: (usize, usize),
    /// Kernel side (square kernels only).
    pub k: usize,
    pub stride: (usize, usize),
    /// Zero rows above and columns left of the input.
    pub before: (usize, usize),
}

/// Runs the convolution: `w` is `[ky][kx][c]`, `b` is `c` long.
pub fn forward(x: &[f32], w: &[f32], b: &[f32], g: Geometry, act: Activation) -> Vec<f32> {
    let (ih, iw, c) = g.input;
    let (oh, ow) = g.output;
    assert!(x.len() == ih * iw * c && w.len() == g.k * g.k * c && b.len() == c);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") && matches!(g.k, 3 | 5) && g.stride.1 <= 2 {
        let mut out = Vec::with_capacity(oh * ow * c);
        // SAFETY: the CPU has just been seen to support AVX-512F, the
        // inputs have the sizes asserted above, and the kernel writes every
        // one of the oh x ow x c outputs before the length is set.
        unsafe {
            // Eight pixels side by side at stride 1 (twelve input
            // vectors of a 5-tap row), four at stride 2 (eleven).
            let out_ptr = out.as_mut_ptr();
            match (g.k, g.stride.1) {
                (3, 1) => avx512::forward::<3, 1, 8>(x, w, b, g, act, out_ptr),
                (3, _) => avx512::forward::<3, 2, 4>(x, w, b, g, act, out_ptr),
                (_, 1) => avx512::forward::<5, 1, 8>(x, w, b, g, act, out_ptr),
                _ => avx512::forward::<5, 2, 4>(x, w, b, g, act, out_ptr),
            }
            out.set_len(oh * ow * c);
        }
        return out;
    }
    let mut out = vec![0.0f32; oh * ow * c];
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been seen to support AVX2.
        unsafe { forward_avx2(x, w, b, g, act, &mut out) };
        return out;
    }
    forward_any(x, w, b, g, act, &mut out);
    out
}

/// The plain loops compiled for 8-wide vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn forward_avx2(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    g: Geometry,
    act: Activation,
    out: &mut [f32],
) {
    forward_any(x, w, b, g, act, out)
}

/// The input row (or column) a tap reads, if inside the image.
#[inline(always)]
fn source(o: usize, s: usize, t: usize, before: usize, len: usize) -> Option<usize> {
    (o * s + t).checked_sub(before).filter(|&i| i < len)
}

#[inline(always)]
fn forward_any(x: &[f32], w: &[f32], b: &[f32], g: Geometry, act: Activation, out: &mut [f32]) {
    let (ih, iw, c) = g.input;
    let (oh, ow) = g.output;
    let k = g.k;
    for oy in 0..oh {
        for ox in 0..ow {
            let acc = &mut out[(oy * ow + ox) * c..][..c];
            acc.copy_from_slice(b);
            for ky in 0..k {
                let Some(iy) = source(oy, g.stride.0, ky, g.before.0, ih) else {
                    continue;
                };
                for kx in 0..k {
                    let Some(ix) = source(ox, g.stride.1, kx, g.before.1, iw) else {
                        continue;
                    };
                    let input = &x[(iy * iw + ix) * c..][..c];
                    let weights = &w[(ky * k + kx) * c..][..c];
                    for ((a, v), wt) in acc.iter_mut().zip(input).zip(weights) {
                        *a += v * wt;
                    }
                }
            }
            for a in acc.iter_mut() {
                *a = act.apply(*a);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Activation, Geometry};
    use std::arch::x86_64::*;

    /// Lanes of channels c0.. that exist. (Helpers, not closures: closures
    /// would not inherit the target feature, and every use would be a call.)
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mask_of(c0: usize, c: usize) -> __mmask16 {
        if c0 + 16 <= c {
            0xffff
        } else {
            ((1u32 << (c - c0)) - 1) as __mmask16
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn activate(v: __m512, act: Activation, zero: __m512, six: __m512) -> __m512 {
        match act {
            Activation::None => v,
            Activation::Relu => _mm512_max_ps(v, zero),
            Activation::Relu6 => _mm512_min_ps(_mm512_max_ps(v, zero), six),
        }
    }

    /// `K`x`K` taps at horizontal stride `S` (the geometry's own), `PX`
    /// interior output pixels side by side.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward<const K: usize, const S: usize, const PX: usize>(
        x: &[f32],
        w: &[f32],
        b: &[f32],
        g: Geometry,
        act: Activation,
        out: *mut f32,
    ) {
        let (ih, iw, c) = g.input;
        let (oh, ow) = g.output;
        let (sy, sx) = (g.stride.0, S);
        debug_assert_eq!(g.stride.1, S);
        let (top, left) = (g.before.0 as isize, g.before.1 as isize);
        let (x, w, b) = (x.as_ptr(), w.as_ptr(), b.as_ptr());
        // SAFETY: every load reads taps inside the input (checked per
        // row and column, or known inside for the interior), weights and
        // bias at channel c0 + lane < c (masked), and every store writes
        // output pixel (oy, ox) at channels c0 + lane < c (masked).
        unsafe {
            let zero = _mm512_setzero_ps();
            let six = _mm512_set1_ps(6.0);
            let blocks = c.div_ceil(16);
            // Interior columns (whole window inside the input).
            let first = (left as usize).div_ceil(sx).min(ow);
            let end = if iw + left as usize >= K {
                ((iw + left as usize - K) / sx + 1).min(ow).max(first)
            } else {
                first
            };
            for oy in 0..oh {
                let y0 = (oy * sy) as isize - top;
                // The input rows of the window; usize::MAX outside.
                let mut rows = [usize::MAX; K];
                for (ky, row) in rows.iter_mut().enumerate() {
                    let y = y0 + ky as isize;
                    if y >= 0 && y < ih as isize {
                        *row = y as usize;
                    }
                }
                let dst = out.add(oy * ow * c);
                // Interior pixels PX at a time, every channel block of
                // them before moving on: their inputs stay in L1, and the
                // PX accumulators are independent chains of FMAs. Each
                // input vector of a window row is loaded once and serves
                // every pixel whose window covers it.
                let mut ox = first;
                while ox + PX <= end {
                    let x0 = ox * sx - left as usize;
                    for blk in 0..blocks {
                        let c0 = blk * 16;
                        let mask = mask_of(c0, c);
                        let mut acc = [_mm512_maskz_loadu_ps(mask, b.add(c0)); PX];
                        for (ky, &iy) in rows.iter().enumerate() {
                            if iy == usize::MAX {
                                continue;
                            }
                            let p = x.add((iy * iw + x0) * c + c0);
                            // (PX - 1) * S + K of them; 16 is room for every
                            // instance, the unused tail never loaded.
                            let mut row = [zero; 16];
                            for (t, v) in row.iter_mut().enumerate().take((PX - 1) * S + K) {
                                *v = _mm512_maskz_loadu_ps(mask, p.add(t * c));
                            }
                            for kx in 0..K {
                                let wt = _mm512_maskz_loadu_ps(mask, w.add((ky * K + kx) * c + c0));
                                for (j, a) in acc.iter_mut().enumerate() {
                                    *a = _mm512_fmadd_ps(row[j * S + kx], wt, *a);
                                }
                            }
                        }
                        for (j, a) in acc.iter().enumerate() {
                            _mm512_mask_storeu_ps(
                                dst.add((ox + j) * c + c0),
                                mask,
                                activate(*a, act, zero, six),
                            );
                        }
                    }
                    ox += PX;
                }
                // The border and the interior's remainder, one pixel at a time.
                for ox in (0..first).chain(ox..ow) {
                    let x0 = (ox * sx) as isize - left;
                    for blk in 0..blocks {
                        let c0 = blk * 16;
                        let mask = mask_of(c0, c);
                        let mut acc = _mm512_maskz_loadu_ps(mask, b.add(c0));
                        for (ky, &iy) in rows.iter().enumerate() {
                            if iy == usize::MAX {
                                continue;
                            }
                            for kx in 0..K {
                                let ix = x0 + kx as isize;
                                if ix < 0 || ix >= iw as isize {
                                    continue;
                                }
                                let v = _mm512_maskz_loadu_ps(
                                    mask,
                                    x.add((iy * iw + ix as usize) * c + c0),
                                );
                                let wt = _mm512_maskz_loadu_ps(mask, w.add((ky * K + kx) * c + c0));
                                acc = _mm512_fmadd_ps(v, wt, acc);
                            }
                        }
                        _mm512_mask_storeu_ps(
                            dst.add(ox * c + c0),
                            mask,
                            activate(acc, act, zero, six),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// The fast path against the plain loops, for both kernel sides,
    /// both strides, padding on either side, and ragged channel counts.
    #[test]
    fn every_path_agrees_with_the_plain_loops() {
        for &(ih, iw, c, k, s, before) in &[
            (7, 9, 24, 3, 1, (1, 1)),
            (8, 8, 40, 3, 2, (0, 0)),
            (9, 7, 16, 5, 2, (2, 2)),
            (6, 6, 5, 5, 1, (2, 1)),
            (12, 11, 144, 5, 2, (1, 2)),
            (5, 20, 32, 5, 1, (2, 2)),
            (9, 23, 48, 3, 1, (1, 1)),
            (4, 30, 17, 3, 2, (0, 1)),
        ] {
            let oh = (ih + 2 * before.0 - k) / s + 1;
            let ow = (iw + 2 * before.1 - k) / s + 1;
            let g = Geometry {
                input: (ih, iw, c),
                output: (oh, ow),
                k,
                stride: (s, s),
                before,
            };
            let (x, w, b) = (values(ih * iw * c, 1), values(k * k * c, 2), values(c, 3));
            for act in [Activation::None, Activation::Relu6] {
                let mut want = vec![0.0; oh * ow * c];
                forward_any(&x, &w, &b, g, act, &mut want);
                let got = forward(&x, &w, &b, g, act);
                for (i, (a, e)) in got.iter().zip(&want).enumerate() {
                    assert!((a - e).abs() < 1e-4, "{g:?} {act:?} at {i}: {a} vs {e}");
                }
            }
        }
    }
}
