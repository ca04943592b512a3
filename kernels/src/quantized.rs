//! `out = activation(x · W + b)` in 8-bit integers: the people detectors'
//! 1x1 convolutions.
//!
//! The weights are quantised once, per output channel (`w ≈ scale[n] · q`,
//! `q` in -127..=127). Each input row (one pixel's channels) is quantised as
//! it arrives, with a scale of its own: to 0..=255 when the row has no
//! negative value (after a ReLU, most rows), otherwise to -127..=127 shifted
//! by 128 (the product then subtracts `128 · Σq` per channel). Per-pixel
//! scales keep a bright pixel from costing its dim neighbours their
//! precision. The sums are exact 32-bit integers, so every path (AVX-512
//! VNNI's `vpdpbusd`, 64 products per instruction against an f32 FMA's 16,
//! or the portable loop) gives the same bits; but only the first is fast
//! (`fast()`): the portable loop runs at a twentieth of an f32 GEMM.

use crate::dense::Activation;

/// Whether this CPU runs the 8-bit products fast (AVX-512 VNNI). Elsewhere
/// the portable path gives the same bits at a fraction of an f32 GEMM's
/// speed, so callers should keep f32 weights there.
pub fn fast() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512vnni") && std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// A `[k][n]` weight matrix quantised per column, and its bias.
pub struct QuantizedDense {
    /// `[kp / 4][np][4]`: four consecutive inputs of a column side by side,
    /// as `vpdpbusd` reads them; zero beyond k and n.
    q: Vec<i8>,
    /// Per column (np long, zero-padded): the weights' scale, `128 · Σq`
    /// (the shifted rows' correction) and the bias.
    scale: Vec<f32>,
    shifted: Vec<i32>,
    b: Vec<f32>,
    k: usize,
    kp: usize,
    n: usize,
    np: usize,
}

/// One input row in 8 bits: `x ≈ scale · q`, or `scale · (q - 128)` when
/// shifted.
#[derive(Clone, Copy)]
struct Row {
    scale: f32,
    /// `1 / scale`, which every value is multiplied by.
    inverse: f32,
    shifted: bool,
}

impl Row {
    /// The row's quantisation from its least and greatest values (taken
    /// with 0, so `lo <= 0 <= hi`).
    fn of(lo: f32, hi: f32) -> Row {
        let (range, shifted) = if lo >= 0.0 {
            (hi / 255.0, false)
        } else {
            (hi.max(-lo) / 127.0, true)
        };
        // A row of zeros (or of values too small for 1 / scale to be
        // finite) quantises to zeros.
        let scale = if range >= f32::MIN_POSITIVE {
            range
        } else {
            1.0
        };
        Row {
            scale,
            inverse: 1.0 / scale,
            shifted,
        }
    }

    /// The offset added to a rounded value.
    fn offset(self) -> i32 {
        if self.shifted { 128 } else { 0 }
    }

    /// One value's byte: rounded to nearest, ties to even (as
    /// `vcvtps2dq` does), offset, clamped.
    #[inline(always)]
    fn byte(self, v: f32) -> u8 {
        // Adding and taking away 1.5 * 2^23 rounds anything under 2^22 to
        // an integer, ties to even, in the default rounding mode.
        const ROUND: f32 = 12_582_912.0;
        let r = ((v * self.inverse + ROUND) - ROUND) as i32;
        (r + self.offset()).clamp(0, 255) as u8
    }
}

impl QuantizedDense {
    /// `w` is `[k][n]` row-major, `b` is `n` long.
    pub fn new(w: &[f32], b: &[f32], k: usize, n: usize) -> Self {
        assert!(w.len() == k * n && b.len() == n && k > 0 && n > 0);
        let kp = k.next_multiple_of(4);
        let np = n.next_multiple_of(16);
        let mut q = vec![0i8; kp * np];
        let mut scale = vec![0.0f32; np];
        let mut shifted = vec![0i32; np];
        for c in 0..n {
            let max = (0..k).map(|r| w[r * n + c].abs()).fold(0.0f32, f32::max);
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale[c] = s;
            let mut sum = 0i32;
            for r in 0..k {
                let v = (w[r * n + c] / s).round().clamp(-127.0, 127.0) as i8;
                q[((r / 4) * np + c) * 4 + r % 4] = v;
                sum += i32::from(v);
            }
            shifted[c] = 128 * sum;
        }
        let mut bias = vec![0.0f32; np];
        bias[..n].copy_from_slice(b);
        QuantizedDense {
            q,
            scale,
            shifted,
            b: bias,
            k,
            kp,
            n,
            np,
        }
    }

    /// `x` is `[rows][k]`; returns `[rows][n]`.
    pub fn forward(&self, x: &[f32], rows: usize, activation: Activation) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.k);
        let (xq, rq) = self.quantize(x, rows);
        let mut out = vec![0.0f32; rows * self.n];
        #[cfg(target_arch = "x86_64")]
        if fast() {
            // SAFETY: the CPU has just been seen to support AVX-512F and
            // VNNI; xq holds rows x kp bytes, out rows x n floats.
            unsafe { avx512::forward(self, &xq, &rq, rows, activation, &mut out) };
            return out;
        }
        self.forward_portable(&xq, &rq, rows, activation, &mut out);
        out
    }

    /// Each row to bytes (kp wide, zero-padded) with its scale.
    fn quantize(&self, x: &[f32], rows: usize) -> (Vec<u8>, Vec<Row>) {
        let mut xq = vec![0u8; rows * self.kp];
        let mut rq = Vec::with_capacity(rows);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has just been seen to support AVX-512F; x is
            // rows x k (asserted by forward), xq rows x kp.
            unsafe { avx512::quantize(x, self.k, self.kp, &mut xq, &mut rq) };
            return (xq, rq);
        }
        self.quantize_portable(x, rows)
    }

    fn quantize_portable(&self, x: &[f32], rows: usize) -> (Vec<u8>, Vec<Row>) {
        let mut xq = vec![0u8; rows * self.kp];
        let mut rq = Vec::with_capacity(rows);
        for (src, dst) in x.chunks_exact(self.k).zip(xq.chunks_exact_mut(self.kp)) {
            let (lo, hi) = src
                .iter()
                .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let row = Row::of(lo, hi);
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = row.byte(v);
            }
            rq.push(row);
        }
        (xq, rq)
    }

    /// The value of one output from its integer sum.
    #[inline(always)]
    fn dequantize(&self, acc: i32, row: Row, c: usize, activation: Activation) -> f32 {
        let acc = if row.shifted {
            acc - self.shifted[c]
        } else {
            acc
        };
        // A product then a sum, as the AVX-512 path rounds.
        activation.apply(acc as f32 * (row.scale * self.scale[c]) + self.b[c])
    }

    fn forward_portable(
        &self,
        xq: &[u8],
        rq: &[Row],
        rows: usize,
        activation: Activation,
        out: &mut [f32],
    ) {
        let (kp, n, np) = (self.kp, self.n, self.np);
        let mut acc = vec![0i32; np];
        for r in 0..rows {
            acc.fill(0);
            let x = &xq[r * kp..(r + 1) * kp];
            for (quad, w) in x.chunks_exact(4).zip(self.q.chunks_exact(4 * np)) {
                for (a, w) in acc.iter_mut().zip(w.chunks_exact(4)) {
                    for j in 0..4 {
                        *a += i32::from(quad[j]) * i32::from(w[j]);
                    }
                }
            }
            for (c, o) in out[r * n..(r + 1) * n].iter_mut().enumerate() {
                *o = self.dequantize(acc[c], rq[r], c, activation);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Activation, QuantizedDense, Row};
    use crate::dense::avx512::store;
    use std::arch::x86_64::*;

    /// `Row::of` and `Row::byte` sixteen values at a time, with the same
    /// results (min and max are exact; the conversion rounds to nearest even).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn quantize(
        x: &[f32],
        k: usize,
        kp: usize,
        xq: &mut [u8],
        rq: &mut Vec<Row>,
    ) {
        assert!(x.len().is_multiple_of(k) && xq.len() == x.len() / k * kp);
        let full = k / 16 * 16;
        let tail = ((1u32 << (k - full)) - 1) as __mmask16;
        for (src, dst) in x.chunks_exact(k).zip(xq.chunks_exact_mut(kp)) {
            // SAFETY: the loads read src[..k] (the last one masked to its
            // real lanes), the stores write dst[..k] likewise.
            unsafe {
                let p = src.as_ptr();
                let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
                let mut i = 0;
                while i < full {
                    let v = _mm512_loadu_ps(p.add(i));
                    lo = _mm512_min_ps(lo, v);
                    hi = _mm512_max_ps(hi, v);
                    i += 16;
                }
                if full < k {
                    let v = _mm512_maskz_loadu_ps(tail, p.add(full));
                    lo = _mm512_min_ps(lo, v);
                    hi = _mm512_max_ps(hi, v);
                }
                let row = Row::of(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
                let inverse = _mm512_set1_ps(row.inverse);
                let offset = _mm512_set1_epi32(row.offset());
                let d = dst.as_mut_ptr().cast::<i8>();
                let mut i = 0;
                while i < full {
                    let b = bytes(_mm512_loadu_ps(p.add(i)), inverse, offset);
                    _mm512_mask_cvtepi32_storeu_epi8(d.add(i), 0xffff, b);
                    i += 16;
                }
                if full < k {
                    let b = bytes(_mm512_maskz_loadu_ps(tail, p.add(full)), inverse, offset);
                    _mm512_mask_cvtepi32_storeu_epi8(d.add(full), tail, b);
                }
                rq.push(row);
            }
        }
    }

    /// `Row::byte` of sixteen values, in 32-bit lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn bytes(v: __m512, inverse: __m512, offset: __m512i) -> __m512i {
        let r = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, inverse)), offset);
        _mm512_min_epi32(
            _mm512_max_epi32(r, _mm512_setzero_si512()),
            _mm512_set1_epi32(255),
        )
    }

    /// Output-channel panels of up to 64 (four vectors); each panel walks
    /// every pixel in tiles as tall as the registers allow.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn forward(
        d: &QuantizedDense,
        xq: &[u8],
        rq: &[Row],
        rows: usize,
        activation: Activation,
        out: &mut [f32],
    ) {
        assert!(xq.len() == rows * d.kp && rq.len() == rows && out.len() == rows * d.n);
        let mut n0 = 0;
        while n0 < d.np {
            let vectors = ((d.np - n0) / 16).min(4);
            // SAFETY (all four): n0 + 16 * vectors <= np, and the tiles stay
            // inside rows, as panel checks.
            unsafe {
                match vectors {
                    4 => panel::<6, 4>(d, xq, rq, rows, n0, activation, out),
                    3 => panel::<8, 3>(d, xq, rq, rows, n0, activation, out),
                    2 => panel::<12, 2>(d, xq, rq, rows, n0, activation, out),
                    _ => panel::<12, 1>(d, xq, rq, rows, n0, activation, out),
                }
            }
            n0 += vectors * 16;
        }
    }

    #[inline(always)]
    unsafe fn panel<const MR: usize, const NV: usize>(
        d: &QuantizedDense,
        xq: &[u8],
        rq: &[Row],
        rows: usize,
        n0: usize,
        activation: Activation,
        out: &mut [f32],
    ) {
        let mut p = 0;
        while p + MR <= rows {
            // SAFETY: rows p..p + MR exist in xq, rq and out.
            unsafe { tile::<MR, NV>(d, xq, rq, p, n0, activation, out) };
            p += MR;
        }
        while p < rows {
            // SAFETY: row p exists in xq, rq and out.
            unsafe { tile::<1, NV>(d, xq, rq, p, n0, activation, out) };
            p += 1;
        }
    }

    /// Rows `p..p + MR`, columns `n0..n0 + 16 * NV` (clipped to n on store).
    #[inline(always)]
    unsafe fn tile<const MR: usize, const NV: usize>(
        d: &QuantizedDense,
        xq: &[u8],
        rq: &[Row],
        p: usize,
        n0: usize,
        activation: Activation,
        out: &mut [f32],
    ) {
        let (kp, n, np) = (d.kp, d.n, d.np);
        let x = xq[p * kp..(p + MR) * kp].as_ptr();
        let w = d.q.as_ptr();
        // SAFETY: every pointer below stays inside xq's rows p..p + MR,
        // q (kp / 4 rows of np x 4 bytes, n0 + 16 * NV <= np), the per-column
        // vectors (np long) and out's rows p..p + MR, whose stores are masked
        // to the n real columns.
        unsafe {
            let mut acc = [[_mm512_setzero_si512(); NV]; MR];
            for kq in 0..kp / 4 {
                let wr = w.add((kq * np + n0) * 4);
                let mut wv = [_mm512_setzero_si512(); NV];
                for (j, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_loadu_si512(wr.add(64 * j).cast());
                }
                for (i, row) in acc.iter_mut().enumerate() {
                    let a =
                        _mm512_set1_epi32(x.add(i * kp + 4 * kq).cast::<i32>().read_unaligned());
                    for j in 0..NV {
                        row[j] = _mm512_dpbusd_epi32(row[j], a, wv[j]);
                    }
                }
            }
            let dst = out.as_mut_ptr().add(p * n);
            for (i, row) in acc.iter().enumerate() {
                let r = rq[p + i];
                let rs = _mm512_set1_ps(r.scale);
                for (j, &v) in row.iter().enumerate() {
                    let col = n0 + 16 * j;
                    let v = if r.shifted {
                        _mm512_sub_epi32(v, _mm512_loadu_si512(d.shifted.as_ptr().add(col).cast()))
                    } else {
                        v
                    };
                    let s = _mm512_mul_ps(rs, _mm512_loadu_ps(d.scale.as_ptr().add(col)));
                    // A product then a sum, not an FMA: the portable path's rounding.
                    let v = _mm512_add_ps(
                        _mm512_mul_ps(_mm512_cvtepi32_ps(v), s),
                        _mm512_loadu_ps(d.b.as_ptr().add(col)),
                    );
                    store(v, activation, dst.add(i * n + col), col, n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SHAPES, reference, values};

    /// At every panel width and row tile, with rows that are all
    /// non-negative (after a ReLU) and rows that are not: the AVX-512 path
    /// and the portable one agree to the bit, and both are within 8-bit
    /// rounding of the exact product.
    #[test]
    fn matches_the_exact_product_within_rounding_and_paths_agree() {
        for &(rows, k, n) in SHAPES {
            for act in [Activation::None, Activation::Relu, Activation::Relu6] {
                let mut x: Vec<f32> = values(rows * k, 1).iter().map(|v| v * 3.0).collect();
                // Odd rows as a ReLU leaves them.
                for row in x.chunks_exact_mut(k).skip(1).step_by(2) {
                    row.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                let w = values(k * n, 2);
                let b = values(n, 3);
                let d = QuantizedDense::new(&w, &b, k, n);
                let want = reference(&x, &w, &b, k, n, act);
                let got = d.forward(&x, rows, act);
                let (xq, rq) = d.quantize(&x, rows);
                let (xp, rp) = d.quantize_portable(&x, rows);
                assert_eq!(xq, xp, "{rows}x{k}x{n}");
                assert!(
                    rq.iter()
                        .zip(&rp)
                        .all(|(a, b)| a.scale == b.scale && a.shifted == b.shifted)
                );
                let mut portable = vec![0.0; rows * n];
                d.forward_portable(&xq, &rq, rows, act, &mut portable);
                assert_eq!(got, portable, "{rows}x{k}x{n} {act:?}");
                // Rounding x to 1/254 of 3 and w to 1/254 of 1, k times over.
                let tolerance = 4.0 * 3.0 * 2.0 / 254.0 * (k as f32).sqrt() + 1e-4;
                for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - e).abs() <= tolerance,
                        "{rows}x{k}x{n} {act:?} at {i}: {g} vs {e}"
                    );
                }
            }
        }
    }

    /// A row of zeros, a row of one value, a row too small to scale and a
    /// column of zero weights (the pose model's pruned ones) come out
    /// exactly.
    #[test]
    fn zeros_and_constants_are_exact() {
        let (k, n) = (8, 3);
        let mut w = values(k * n, 4);
        for r in 0..k {
            w[r * n + 1] = 0.0;
        }
        let b = [0.5, -0.25, 0.0];
        let d = QuantizedDense::new(&w, &b, k, n);
        let mut x = vec![0.0f32; 3 * k];
        x[k..2 * k].fill(-2.0);
        // Too small to scale: counts as zeros.
        x[2 * k..].fill(1e-39);
        let got = d.forward(&x, 3, Activation::None);
        assert_eq!(&got[..3], &b);
        assert_eq!(got[4], -0.25);
        assert_eq!(&got[6..], &b);
        let (xq, _) = d.quantize(&x, 3);
        assert_eq!(xq, d.quantize_portable(&x, 3).0);
        let want = reference(&x, &w, &b, k, n, Activation::None);
        for (g, e) in got.iter().zip(&want) {
            assert!((g - e).abs() < 0.02, "{g} vs {e}");
        }
    }
}
