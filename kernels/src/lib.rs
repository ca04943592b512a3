//! The numeric kernels of the on-device tagger's networks (the classifier
//! and the people detectors): `dense` for 1x1 (and im2col'd) convolutions,
//! `depthwise` for depthwise ones. A crate of their own so that debug builds
//! (the tests') still compile them optimised: unoptimised, one picture's
//! tagging would take seconds.

pub mod dense;
pub mod depthwise;
