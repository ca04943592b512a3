//! Calibrated confidences: a tag reported at X% is right about X% of the time.
//!
//! The network's probabilities are modest: on ImageNet a tag whose classes
//! sum to 45% is right ~70% of the time, one at 75% ~97%. One strictly
//! increasing map of a tag's summed probability, the same for every tag,
//! corrects that without changing any image's order of tags. It was fitted for one weights
//! file (scripts/calibrate.py, `make calibrate`), whose SHA-256 it records:
//! other weights are refused rather than tagged with wrong confidences.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

use super::LoadError;

#[derive(Deserialize)]
struct CalibrationFile {
    model_sha256: String,
    /// `(summed probability, calibrated probability)`, both increasing.
    knots: Vec<(f64, f64)>,
}

/// A piecewise-linear map of a tag's summed probability (0..=1).
pub struct Calibration {
    model_sha256: String,
    knots: Vec<(f64, f64)>,
}

impl Calibration {
    pub fn builtin() -> Self {
        Self::from_json(include_str!("calibration.json")).expect("the compiled-in calibration")
    }

    pub fn from_json(json: &str) -> Result<Self, String> {
        let file: CalibrationFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let k = &file.knots;
        let increasing = k.windows(2).all(|w| w[1].0 > w[0].0 && w[1].1 > w[0].1);
        if k.len() < 2 || !increasing || k[0].0 != 0.0 || k[k.len() - 1].0 != 1.0 {
            return Err("knots must rise strictly from 0 to 1".into());
        }
        Ok(Calibration {
            model_sha256: file.model_sha256,
            knots: file.knots,
        })
    }

    /// The SHA-256 (hex) of the weights file this calibration was fitted for.
    pub fn model_sha256(&self) -> &str {
        &self.model_sha256
    }

    /// Refuses a weights file other than the one the map was fitted for.
    /// Hashing the 47 MB costs some 30 ms, once per process; it is read in
    /// pieces, so a process that checks and never tags never holds it.
    pub fn check(&self, weights: &Path) -> Result<(), LoadError> {
        let unreadable = |e: std::io::Error| LoadError::Read {
            path: weights.display().to_string(),
            reason: e.to_string(),
        };
        let mut file = std::fs::File::open(weights).map_err(unreadable)?;
        let mut hasher = Sha256::new();
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            match file.read(&mut chunk).map_err(unreadable)? {
                0 => break,
                n => hasher.update(&chunk[..n]),
            }
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest != self.model_sha256 {
            return Err(LoadError::Weights(format!(
                "{} has SHA-256 {digest}, but the tagger's confidence calibration was \
                 fitted for {}; run `make model` for the expected weights, or `make \
                 calibrate` to fit the calibration to these",
                weights.display(),
                self.model_sha256
            )));
        }
        Ok(())
    }

    /// The calibrated probability of a tag whose classes sum to `p`.
    pub fn apply(&self, p: f64) -> f64 {
        let p = p.clamp(0.0, 1.0);
        let i = self
            .knots
            .partition_point(|&(x, _)| x <= p)
            .clamp(1, self.knots.len() - 1);
        let ((x0, y0), (x1, y1)) = (self.knots[i - 1], self.knots[i]);
        y0 + (y1 - y0) * (p - x0) / (x1 - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_map_is_increasing_and_bounded() {
        let c = Calibration::builtin();
        assert_eq!(c.model_sha256().len(), 64);
        let mut last = -1.0;
        for i in 0..=10_000 {
            let y = c.apply(f64::from(i) / 10_000.0);
            assert!(y > last && (0.0..=1.0).contains(&y), "{i}: {y}");
            last = y;
        }
    }

    #[test]
    fn knots_are_interpolated() {
        let c = Calibration::from_json(r#"{"model_sha256":"x","knots":[[0,0],[0.5,0.8],[1,0.9]]}"#)
            .unwrap();
        assert_eq!(c.apply(0.25), 0.4);
        assert!((c.apply(0.75) - 0.85).abs() < 1e-12);
        assert_eq!(c.apply(1.0), 0.9);
        assert_eq!(c.apply(2.0), 0.9);
        for bad in [
            r#"{"model_sha256":"x","knots":[[0,0],[0.5,0.8],[0.4,0.9],[1,1]]}"#,
            r#"{"model_sha256":"x","knots":[[0,0],[0.5,0.8],[1,0.8]]}"#,
            r#"{"model_sha256":"x","knots":[[0.1,0],[1,1]]}"#,
        ] {
            assert!(Calibration::from_json(bad).is_err(), "{bad}");
        }
    }
}
