//! The numeric kernels of the on-device tagger's networks (the classifier
//! and the people detectors): `dense` for 1x1 (and im2col'd) convolutions,
//! `quantized` for the detectors' 1x1 ones in 8 bits, `depthwise` for
//! depthwise ones. A crate of their own so that debug builds
//! (the tests') still compile them optimised: unoptimised, one picture's
//! tagging would take seconds.

pub mod dense;
pub mod depthwise;
pub mod quantized;

/// What the products' tests share: inputs and the exact answer.
#[cfg(test)]
mod testing {
    use crate::dense::Activation;

    /// (rows, k, n): every panel width (1..4 vectors of 16 columns, ragged
    /// last columns), full and partial row tiles, k not a multiple of 4.
    pub const SHAPES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (7, 3, 2),
        (13, 24, 16),
        (25, 40, 24),
        (49, 192, 72),
        (31, 17, 40),
        (12, 64, 100),
        (196, 112, 144),
        (9, 8, 200),
    ];

    pub fn reference(
        x: &[f32],
        w: &[f32],
        b: &[f32],
        k: usize,
        n: usize,
        act: Activation,
    ) -> Vec<f32> {
        let rows = x.len() / k;
        let mut out = vec![0.0; rows * n];
        for r in 0..rows {
            for c in 0..n {
                let s: f64 = (0..k)
                    .map(|i| f64::from(x[r * k + i]) * f64::from(w[i * n + c]))
                    .sum();
                out[r * n + c] = act.apply(s as f32 + b[c]);
            }
        }
        out
    }

    /// Deterministic values in -1..1.
    pub fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }
}
