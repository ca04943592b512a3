//! `out = activation(x · W + b)` in f32: the product behind every 1x1
//! convolution of the classifier and every im2col'd one of the classifier
//! and the people detectors (whose 1x1 ones are in `quantized`).
//!
//! On CPUs with AVX-512 the product runs in a register-blocked kernel of
//! this module: a tile of up to 12 pixels by up to 64 output channels stays
//! in the 32 vector registers for the whole input-channel loop, with the
//! bias, activation and ragged last columns handled as the tile is stored.
//! At these shapes (tens to a few thousand pixels, 16..1152 channels) that
//! is two to three times as fast as a general GEMM with AVX2, which every
//! other CPU still gets (`matrixmultiply`).

/// What follows the product, element by element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    None,
    Relu,
    Relu6,
}

impl Activation {
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
        }
    }
}

/// A `[k][n]` weight matrix and its bias, laid out for the kernels.
pub struct Dense {
    /// `[k][np]`: rows padded with zero columns to a multiple of 16.
    w: Vec<f32>,
    /// `np` long, zero-padded.
    b: Vec<f32>,
    k: usize,
    n: usize,
    np: usize,
}

impl Dense {
    /// `w` is `[k][n]` row-major, `b` is `n` long.
    pub fn new(w: &[f32], b: &[f32], k: usize, n: usize) -> Self {
        assert!(w.len() == k * n && b.len() == n && k > 0 && n > 0);
        let np = n.next_multiple_of(16);
        let mut padded = vec![0.0f32; k * np];
        for (dst, src) in padded.chunks_exact_mut(np).zip(w.chunks_exact(n)) {
            dst[..n].copy_from_slice(src);
        }
        let mut bias = vec![0.0f32; np];
        bias[..n].copy_from_slice(b);
        Dense {
            w: padded,
            b: bias,
            k,
            n,
            np,
        }
    }

    /// Input width (rows of W).
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// Output width (columns of W).
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// `x` is `[rows][k]`; returns `[rows][n]`.
    pub fn forward(&self, x: &[f32], rows: usize, activation: Activation) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.k);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            let mut out = Vec::with_capacity(rows * self.n);
            // SAFETY: the CPU has just been seen to support AVX-512F; x
            // holds rows x k floats (asserted above), out room for rows x n,
            // every one of which the kernel writes before the length is set
            // (no zeroing pass over memory about to be overwritten).
            unsafe {
                avx512::forward(self, x, rows, activation, out.as_mut_ptr());
                out.set_len(rows * self.n);
            }
            return out;
        }
        let mut out = vec![0.0f32; rows * self.n];
        self.forward_gemm(x, rows, activation, &mut out);
        out
    }

    /// The portable path: a general GEMM, then bias and activation.
    fn forward_gemm(&self, x: &[f32], rows: usize, activation: Activation, out: &mut [f32]) {
        // SAFETY: x is rows x k (row stride k), w is k x n inside rows of
        // np (row stride np), out is rows x n (row stride n), as asserted
        // by forward and built by new.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                self.k,
                self.n,
                1.0,
                x.as_ptr(),
                self.k as isize,
                1,
                self.w.as_ptr(),
                self.np as isize,
                1,
                0.0,
                out.as_mut_ptr(),
                self.n as isize,
                1,
            );
        }
        for row in out.chunks_exact_mut(self.n) {
            for (v, b) in row.iter_mut().zip(&self.b) {
                *v = activation.apply(*v + b);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use super::{Activation, Dense};
    use std::arch::x86_64::*;

    /// Output-channel panels of up to 64 (four vectors); each panel walks
    /// every pixel in tiles as tall as the registers allow.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward(
        d: &Dense,
        x: &[f32],
        rows: usize,
        activation: Activation,
        out: *mut f32,
    ) {
        let mut n0 = 0;
        while n0 < d.np {
            let vectors = ((d.np - n0) / 16).min(4);
            // SAFETY (all four): n0 + 16 * vectors <= np, and the tiles stay
            // inside rows, as panel checks.
            unsafe {
                match vectors {
                    4 => panel::<6, 4>(d, x, rows, n0, activation, out),
                    3 => panel::<8, 3>(d, x, rows, n0, activation, out),
                    2 => panel::<12, 2>(d, x, rows, n0, activation, out),
                    _ => panel::<12, 1>(d, x, rows, n0, activation, out),
                }
            }
            n0 += vectors * 16;
        }
    }

    #[inline(always)]
    unsafe fn panel<const MR: usize, const NV: usize>(
        d: &Dense,
        x: &[f32],
        rows: usize,
        n0: usize,
        activation: Activation,
        out: *mut f32,
    ) {
        let mut p = 0;
        while p + MR <= rows {
            // SAFETY: rows p..p + MR exist in x and out.
            unsafe { tile::<MR, NV>(d, x, p, n0, activation, out) };
            p += MR;
        }
        while p < rows {
            // SAFETY: row p exists in x and out.
            unsafe { tile::<1, NV>(d, x, p, n0, activation, out) };
            p += 1;
        }
    }

    /// Rows `p..p + MR`, columns `n0..n0 + 16 * NV` (clipped to n on store).
    #[inline(always)]
    unsafe fn tile<const MR: usize, const NV: usize>(
        d: &Dense,
        x: &[f32],
        p: usize,
        n0: usize,
        activation: Activation,
        out: *mut f32,
    ) {
        let (k, n, np) = (d.k, d.n, d.np);
        let x = x[p * k..(p + MR) * k].as_ptr();
        let w = d.w.as_ptr();
        // SAFETY: every pointer below stays inside x[p * k..(p + MR) * k],
        // w (k rows of np, n0 + 16 * NV <= np), b (np) and out's rows
        // p..p + MR, whose stores are masked to the n real columns.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); NV]; MR];
            for j in 0..NV {
                let bias = _mm512_loadu_ps(d.b.as_ptr().add(n0 + 16 * j));
                for row in acc.iter_mut() {
                    row[j] = bias;
                }
            }
            for kk in 0..k {
                let wr = w.add(kk * np + n0);
                let mut wv = [_mm512_setzero_ps(); NV];
                for (j, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(wr.add(16 * j));
                }
                for (i, row) in acc.iter_mut().enumerate() {
                    let a = _mm512_set1_ps(*x.add(i * k + kk));
                    for j in 0..NV {
                        row[j] = _mm512_fmadd_ps(a, wv[j], row[j]);
                    }
                }
            }
            let dst = out.add(p * n);
            for (i, row) in acc.iter().enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    let col = n0 + 16 * j;
                    store(v, activation, dst.add(i * n + col), col, n);
                }
            }
        }
    }

    /// Stores the activated vector of columns `col..col + 16` at `at`, only
    /// the lanes of the `n` real columns (`np - n < 16`, so every vector of
    /// a tile holds at least one).
    ///
    /// # Safety
    /// `at` must be valid for the writes of columns `col..n.min(col + 16)`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn store(
        v: __m512,
        activation: Activation,
        at: *mut f32,
        col: usize,
        n: usize,
    ) {
        let zero = _mm512_setzero_ps();
        let v = match activation {
            Activation::None => v,
            Activation::Relu => _mm512_max_ps(v, zero),
            Activation::Relu6 => _mm512_min_ps(_mm512_max_ps(v, zero), _mm512_set1_ps(6.0)),
        };
        // SAFETY: the caller's promise, and the mask keeps to the real columns.
        unsafe {
            if col + 16 <= n {
                _mm512_storeu_ps(at, v);
            } else {
                let mask = ((1u32 << (n - col)) - 1) as __mmask16;
                _mm512_mask_storeu_ps(at, mask, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SHAPES, reference, values};

    /// Every panel width (1..4 vectors, ragged last columns), full and
    /// partial row tiles, and each activation, against f64 sums; the
    /// portable path too.
    #[test]
    fn matches_the_plain_sum_at_every_shape() {
        for &(rows, k, n) in SHAPES {
            for act in [Activation::None, Activation::Relu, Activation::Relu6] {
                let x: Vec<f32> = values(rows * k, 1).iter().map(|v| v * 3.0).collect();
                let w = values(k * n, 2);
                let b = values(n, 3);
                let d = Dense::new(&w, &b, k, n);
                let want = reference(&x, &w, &b, k, n, act);
                let mut portable = vec![0.0; rows * n];
                d.forward_gemm(&x, rows, act, &mut portable);
                for got in [d.forward(&x, rows, act), portable] {
                    assert_eq!(got.len(), want.len());
                    for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (g - e).abs() <= 1e-4 * (1.0 + e.abs()) * (k as f32).sqrt(),
                            "{rows}x{k}x{n} {act:?} at {i}: {g} vs {e}"
                        );
                    }
                }
            }
        }
    }
}
