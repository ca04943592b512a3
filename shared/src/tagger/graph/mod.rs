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
//!
//! `build` reads a graph and checks it, `ops` holds the ops and their
//! kernels; this runs them in order.

use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::tagger::local::LoadError;
use build::{GraphFile, bad};
use ops::{Hwc, Op};

mod build;
mod ops;

pub struct Graph {
    input: usize,
    input_shape: Hwc,
    ops: Vec<Op>,
    outputs: HashMap<String, usize>,
    /// Each output's length, from the shapes checked at load.
    output_lens: HashMap<String, usize>,
    tensors: usize,
}

impl Graph {
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        Self::load_at(path, None)
    }

    /// The graph of `path`, for a square input of `side` pixels when one
    /// is given (a fully convolutional graph runs at other sizes than the
    /// one it was converted at; `build::GraphFile::at_side`).
    pub fn load_at(path: &Path, side: Option<usize>) -> Result<Self, LoadError> {
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
        let mut file: GraphFile =
            serde_json::from_str(graph).map_err(|e| bad(format!("graph: {e}")))?;
        if let Some(side) = side {
            file = file.at_side(side)?;
        }
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        Self::build(file, &st)
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
            let out = op.forward(&values);
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
