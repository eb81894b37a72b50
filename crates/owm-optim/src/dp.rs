//! DP-SGD (Abadi et al. 2016, as Opacus implements it): a gradient chain whose gradient is the sum of
//! per-example gradients of a Poisson-sampled batch, each clipped to `clip`, plus Gaussian noise of standard
//! deviation `noise_multiplier × clip`, divided by the expected batch size; the chain's transforms (Adam, a
//! schedule, ...) then run as usual, as Opacus's `DPOptimizer` wraps any optimiser.

use burn::prelude::*;
use owm_core::{Gradient, Objective, ParamSet, PrivateSample, Rng, StepPrivacy, Validate};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The private gradient's settings, part of a [`crate::ChainConfig`] (and of every gradient preset, as the
/// extra field `privacy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpSgd {
    /// Per-example gradient norm bound C.
    pub clip: f64,
    /// Noise multiplier σ: the noise on the summed gradient has standard deviation σ·C.
    pub noise_multiplier: f64,
    /// Poisson sampling rate q: each training example is in each batch with this probability (the expected
    /// batch size over the training set's size).
    pub sample_rate: f64,
    /// Seed of the noise: step `t` draws from `Rng::derived(seed, "dp-noise/step-{t}")`.
    pub seed: u64,
}

impl Validate for DpSgd {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return Err(Error::Setting { name: "clip", rule: "must be finite and > 0", value: self.clip });
        }
        if !(self.noise_multiplier.is_finite() && self.noise_multiplier >= 0.0) {
            return Err(Error::Setting { name: "noise_multiplier", rule: "must be finite and >= 0", value: self.noise_multiplier });
        }
        if !(self.sample_rate > 0.0 && self.sample_rate <= 1.0) {
            return Err(Error::Setting { name: "sample_rate", rule: "must lie in (0, 1]", value: self.sample_rate });
        }
        Ok(())
    }
}

impl DpSgd {
    /// The noised, averaged gradient of step `step` at `params`, and what the step records.
    ///
    /// # Errors
    ///
    /// The objective's: [`owm_core::Error::Unsupported`] when it has no per-example gradients.
    pub fn gradient(&self, params: &ParamSet, objective: &mut dyn Objective, step: u64) -> Result<(Gradient, StepPrivacy)> {
        let private = objective.private_gradient(params, PrivateSample { rate: self.sample_rate, clip: self.clip })?;
        let mut gradient = private.gradient;
        let std = self.noise_multiplier * self.clip;
        let expected = self.sample_rate * objective.train_items() as f64;
        let mut rng = Rng::derived(self.seed, &format!("dp-noise/step-{step}"));
        gradient.grads = gradient
            .grads
            .into_iter()
            .map(|g| {
                g.map(|g| {
                    let noise: Vec<f32> = (0..g.dims()[0]).map(|_| rng.normal(0.0, std) as f32).collect();
                    (g.clone() + Tensor::from_data(TensorData::new(noise, [g.dims()[0]]), &g.device())).div_scalar(expected)
                })
            })
            .collect();
        let items = gradient.items;
        let clip_fraction = if items == 0 { 0.0 } else { private.clipped as f64 / items as f64 };
        Ok((gradient, StepPrivacy { items, clip_fraction, noise_std: std }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dp() -> DpSgd {
        DpSgd { clip: 1.0, noise_multiplier: 1.1, sample_rate: 0.01, seed: 7 }
    }

    #[test]
    fn clip_must_be_positive() {
        assert!(matches!(DpSgd { clip: 0.0, ..dp() }.check(), Err(Error::Setting { name: "clip", .. })));
    }

    #[test]
    fn noise_must_be_non_negative() {
        assert!(matches!(DpSgd { noise_multiplier: -1.0, ..dp() }.check(), Err(Error::Setting { name: "noise_multiplier", .. })));
    }

    #[test]
    fn the_sampling_rate_must_be_a_probability() {
        assert!(matches!(DpSgd { sample_rate: 1.5, ..dp() }.check(), Err(Error::Setting { name: "sample_rate", .. })));
        assert!(dp().check().is_ok());
    }
}
