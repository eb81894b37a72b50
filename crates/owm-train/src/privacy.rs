//! Differentially private training in the pipeline: a private normaliser of the inputs, the noise planned
//! for a target ε over the run's budget, and the guarantee the run spent, recorded in the manifest.
//!
//! The normaliser's estimates and the training steps are Gaussian mechanisms composed by one RDP accountant:
//! the estimates are calibrated to their own stated ε, then the training noise is solved so that both
//! together spend the target.

use owm_data::{Dataset, Estimate, FeatureBounds, Normalizer, Splits};
use owm_optim::{DpSgd, PhaseConfig, RdpAccountant, gaussian_noise_multiplier, gaussian_orders, noise_multiplier_after};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A private normaliser of a private run's inputs (JSON: `{"bounds": "0:16", "estimate": "center",
/// "epsilon": 0.8}`): declared public bounds, and what is estimated from the training split under DP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateNormalizer {
    /// Each feature's public bounds; the estimates clamp every value into them.
    pub bounds: FeatureBounds,
    /// What is estimated (default: nothing, the bounds scale each feature to [-1, 1]).
    #[serde(default)]
    pub estimate: Estimate,
    /// The ε the estimates spend on their own, at the run's δ (default: a tenth of the target ε).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
}

/// The share of a target ε the normaliser's estimates spend when the config does not say.
pub const NORMALIZER_SHARE: f64 = 0.1;

/// Example-level differential privacy for a run (DP-SGD with Poisson sampling and the RDP accountant).
///
/// JSON: `{"epsilon": 8, "delta": 1e-5, "clip": 1.0}` (noise solved for ε over the run's step budget) or
/// `{"noise_multiplier": 1.1, "delta": 1e-5, "clip": 1.0}` (ε reported).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacyConfig {
    /// Target ε; give this or `noise_multiplier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// δ (default 1e-5).
    #[serde(default = "default_delta")]
    pub delta: f64,
    /// Per-example gradient norm bound (default 1).
    #[serde(default = "default_clip")]
    pub clip: f64,
    /// Noise multiplier; give this or `epsilon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_multiplier: Option<f64>,
    /// The inputs' normaliser, from public bounds and private estimates (none: inputs as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalizer: Option<PrivateNormalizer>,
}

fn default_delta() -> f64 {
    1e-5
}
fn default_clip() -> f64 {
    1.0
}

impl PrivacyConfig {
    /// A target of `epsilon` at δ = 1e-5 with clip norm 1.
    pub fn epsilon(epsilon: f64) -> Self {
        Self { epsilon: Some(epsilon), delta: default_delta(), clip: default_clip(), noise_multiplier: None, normalizer: None }
    }

    /// Checks the settings: exactly one of ε and noise multiplier, `0 < δ < 1`, a positive clip.
    ///
    /// # Errors
    ///
    /// [`Error::Privacy`] naming the rule.
    pub fn check(&self) -> Result<()> {
        let err = |reason: &str| Err(Error::Privacy(reason.into()));
        match (self.epsilon, self.noise_multiplier) {
            (Some(_), Some(_)) | (None, None) => return err("give exactly one of epsilon and noise_multiplier"),
            (Some(e), None) if !(e > 0.0 && e.is_finite()) => return err("epsilon must be positive and finite"),
            (None, Some(s)) if !(s >= 0.0 && s.is_finite()) => return err("noise_multiplier must be finite and >= 0"),
            _ => {}
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return err("delta must lie in (0, 1)");
        }
        if !(self.clip > 0.0 && self.clip.is_finite()) {
            return err("clip must be finite and > 0");
        }
        if let Some(n) = &self.normalizer {
            match (n.estimate, n.epsilon, self.epsilon) {
                (_, Some(e), _) if !(e > 0.0 && e.is_finite()) => return err("the normaliser's epsilon must be positive and finite"),
                (Estimate::Center | Estimate::Standard, Some(e), Some(target)) if e >= target => {
                    return err("the normaliser's epsilon must leave part of the target epsilon to training");
                }
                (Estimate::Center | Estimate::Standard, None, None) => return err("with a noise multiplier, give the normaliser's epsilon"),
                _ => {}
            }
        }
        Ok(())
    }

    /// The noise multiplier of the normaliser's estimates, calibrated to their own ε; `None` when nothing is
    /// estimated.
    ///
    /// # Errors
    ///
    /// [`Error::Privacy`] for settings that fail [`PrivacyConfig::check`]; the solver's error otherwise.
    pub fn normalizer_noise(&self) -> Result<Option<f64>> {
        self.check()?;
        let Some(n) = self.normalizer.as_ref().filter(|n| n.estimate != Estimate::Bounds) else { return Ok(None) };
        let epsilon = n.epsilon.or(self.epsilon.map(|e| e * NORMALIZER_SHARE)).ok_or_else(|| Error::Privacy("no epsilon for the normaliser".into()))?;
        Ok(Some(gaussian_noise_multiplier(epsilon, self.delta, n.estimate.releases())?))
    }

    /// What the normaliser's estimates spend, as an accountant the training steps are composed onto.
    fn spent_before_training(&self) -> Result<RdpAccountant> {
        let mut accountant = RdpAccountant::default();
        if let (Some(sigma), Some(n)) = (self.normalizer_noise()?, &self.normalizer) {
            accountant.compose(1.0, sigma, n.estimate.releases())?;
        }
        Ok(accountant)
    }

    /// The private normaliser of `splits`' training inputs (`None` without one in the config): the bounds
    /// resolved against the features (a table's by name), the estimates drawn with noise seeded from `seed`.
    ///
    /// # Errors
    ///
    /// [`Error::Privacy`] for non-numeric inputs; the data's error for bounds that do not fit the features.
    pub fn fit_normalizer(&self, splits: &Splits, seed: u64) -> Result<Option<Normalizer>> {
        let Some(n) = &self.normalizer else { return Ok(None) };
        let train: &Dataset = &splits.train;
        if !train.is_numeric() {
            return Err(Error::Privacy(format!("dataset `{}` holds ids, not numbers: there is nothing to normalise", train.name)));
        }
        let names = match &splits.preprocessing {
            Some(owm_data::Preprocessing::Tabular { feature_names, .. }) => Some(feature_names.as_slice()),
            _ => None,
        };
        let bounds = n.bounds.resolve(train.feature_len(), names)?;
        let sigma = self.normalizer_noise()?.unwrap_or(0.0);
        let mut rng = owm_core::Rng::derived(seed, "dp-normalizer");
        Ok(Some(Normalizer::fit_private(train, &bounds, n.estimate, sigma, &mut rng)?))
    }

    /// Makes every phase private for a training split of `items` at `batch_size` expected items per batch,
    /// solving the noise for the target ε over the phases' step budgets; returns the DP-SGD settings.
    ///
    /// # Errors
    ///
    /// [`Error::Privacy`] for a phase without a step or epoch budget (the noise cannot be planned) or a search
    /// phase; the solver's error for an unreachable ε.
    pub fn apply(&self, phases: &mut [PhaseConfig], items: usize, batch_size: usize, seed: u64) -> Result<DpSgd> {
        self.check()?;
        let rate = (batch_size as f64 / items.max(1) as f64).min(1.0);
        let per_epoch = (1.0 / rate).round().max(1.0) as u64;
        let mut planned = 0u64;
        for p in phases.iter() {
            let steps = match (p.until.max_steps, p.until.max_epochs) {
                (Some(s), _) => s,
                (None, Some(e)) => e * per_epoch,
                (None, None) => {
                    return Err(Error::Privacy("every phase needs a step or epoch budget, so the noise for the target epsilon can be planned".into()));
                }
            };
            planned += steps;
        }
        let sigma = match (self.noise_multiplier, self.epsilon) {
            (Some(s), _) => s,
            (None, Some(eps)) => noise_multiplier_after(&self.spent_before_training()?, eps, self.delta, rate, planned)?,
            (None, None) => unreachable!("checked above"),
        };
        let dp = DpSgd { clip: self.clip, noise_multiplier: sigma, sample_rate: rate, seed: owm_core::derive_seed(seed, "dp-noise") };
        for p in phases.iter_mut() {
            p.optimizer.make_private(dp.clone()).map_err(|e| Error::Privacy(e.to_string()))?;
        }
        Ok(dp)
    }
}

/// The guarantee a private run spent, as the manifest's `privacy` section records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacyGuarantee {
    /// `"dp-sgd"`.
    pub mechanism: String,
    /// `"rdp"` (Rényi DP of the sampled Gaussian mechanism, Balle et al.'s conversion).
    pub accountant: String,
    /// What one unit of privacy is: `"example"` (one training item).
    pub unit: String,
    /// `"poisson"`.
    pub sampling: String,
    /// ε spent by the steps taken (infinite without noise).
    #[serde(with = "owm_core::serde_float")]
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
    /// The RDP order that gave ε.
    pub order: f64,
    /// The target ε the noise was planned for, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_epsilon: Option<f64>,
    /// Poisson sampling rate.
    pub sampling_rate: f64,
    /// Private steps taken.
    pub steps: u64,
    /// Per-example clip norm.
    pub clip_norm: f64,
    /// Noise multiplier.
    pub noise_multiplier: f64,
    /// The private normaliser's estimates, composed into `epsilon`, when there were any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalizer: Option<NormalizerSpend>,
}

/// What a private normaliser's estimates spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizerSpend {
    /// What was estimated.
    pub estimate: Estimate,
    /// The public bounds every value was clamped into.
    pub bounds: FeatureBounds,
    /// The Gaussian noise multiplier of each release (its standard deviation over the sum's sensitivity).
    pub noise_multiplier: f64,
    /// Releases (sums of values; then of squared deviations).
    pub releases: u64,
    /// The ε the estimates spend on their own, at the run's δ.
    pub epsilon: f64,
    /// The ε the training steps spend on their own, at the run's δ.
    pub training_epsilon: f64,
}

impl PrivacyGuarantee {
    /// The guarantee of `steps` steps of `dp` at δ `config.delta`.
    ///
    /// # Errors
    ///
    /// The accountant's, for settings out of range.
    pub fn spent(config: &PrivacyConfig, dp: &DpSgd, steps: u64) -> Result<Self> {
        let mut training = RdpAccountant::default();
        training.compose(dp.sample_rate, dp.noise_multiplier.max(f64::MIN_POSITIVE), steps)?;
        let mut total = config.spent_before_training()?;
        total.compose(dp.sample_rate, dp.noise_multiplier.max(f64::MIN_POSITIVE), steps)?;
        let e = total.epsilon(config.delta)?;
        let normalizer = match &config.normalizer {
            Some(n) => {
                let sigma = config.normalizer_noise()?;
                let mut alone = RdpAccountant::with_orders(gaussian_orders());
                if let Some(sigma) = sigma {
                    alone.compose(1.0, sigma, n.estimate.releases())?;
                }
                Some(NormalizerSpend {
                    estimate: n.estimate,
                    bounds: n.bounds.clone(),
                    noise_multiplier: sigma.unwrap_or(0.0),
                    releases: n.estimate.releases(),
                    epsilon: if sigma.is_some() { alone.epsilon(config.delta)?.epsilon } else { 0.0 },
                    training_epsilon: training.epsilon(config.delta)?.epsilon,
                })
            }
            None => None,
        };
        Ok(Self {
            mechanism: "dp-sgd".into(),
            accountant: "rdp".into(),
            unit: "example".into(),
            sampling: "poisson".into(),
            epsilon: if dp.noise_multiplier == 0.0 { f64::INFINITY } else { e.epsilon },
            delta: config.delta,
            order: e.order,
            target_epsilon: config.epsilon,
            sampling_rate: dp.sample_rate,
            steps,
            clip_norm: dp.clip,
            noise_multiplier: dp.noise_multiplier,
            normalizer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use owm_optim::{AdamConfig, ConvergenceConfig, GaConfig, OptimizerConfig};

    fn adam(until: ConvergenceConfig) -> Vec<PhaseConfig> {
        vec![PhaseConfig { optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-3)), until }]
    }

    #[test]
    fn exactly_one_of_epsilon_and_noise() {
        let both = PrivacyConfig { noise_multiplier: Some(1.0), ..PrivacyConfig::epsilon(8.0) };
        assert!(matches!(both.check(), Err(Error::Privacy(_))));
        let neither = PrivacyConfig { epsilon: None, ..PrivacyConfig::epsilon(8.0) };
        assert!(matches!(neither.check(), Err(Error::Privacy(_))));
    }

    #[test]
    fn delta_and_clip_must_be_in_range() {
        assert!(PrivacyConfig { delta: 1.0, ..PrivacyConfig::epsilon(8.0) }.check().is_err());
        assert!(PrivacyConfig { clip: 0.0, ..PrivacyConfig::epsilon(8.0) }.check().is_err());
        assert!(PrivacyConfig { epsilon: Some(-1.0), ..PrivacyConfig::epsilon(8.0) }.check().is_err());
    }

    fn centred(epsilon: Option<f64>) -> PrivateNormalizer {
        PrivateNormalizer { bounds: "0:16".parse().unwrap(), estimate: Estimate::Center, epsilon }
    }

    #[test]
    fn the_normaliser_s_epsilon_must_be_positive_and_leave_room_for_training() {
        let with = |n: PrivateNormalizer, base: PrivacyConfig| PrivacyConfig { normalizer: Some(n), ..base };
        let err = |c: PrivacyConfig| c.check().unwrap_err().to_string();
        assert!(err(with(centred(Some(0.0)), PrivacyConfig::epsilon(1.0))).contains("positive and finite"));
        assert!(err(with(centred(Some(1.0)), PrivacyConfig::epsilon(1.0))).contains("leave part of the target"));
        let noise = PrivacyConfig { epsilon: None, noise_multiplier: Some(1.0), ..PrivacyConfig::epsilon(1.0) };
        assert!(err(with(centred(None), noise.clone())).contains("give the normaliser's epsilon"));
        assert!(with(centred(Some(0.5)), noise).check().is_ok());
        let bounds_only = PrivateNormalizer { estimate: Estimate::Bounds, ..centred(None) };
        assert_eq!(with(bounds_only, PrivacyConfig::epsilon(1.0)).normalizer_noise().unwrap(), None);
    }

    #[test]
    fn the_normaliser_and_training_should_spend_the_target_together() {
        let config = PrivacyConfig { normalizer: Some(centred(None)), ..PrivacyConfig::epsilon(1.0) };
        let mut phases = adam(ConvergenceConfig::epochs(40));
        let dp = config.apply(&mut phases, 1438, 32, 1).unwrap();
        let alone = PrivacyConfig::epsilon(1.0).apply(&mut adam(ConvergenceConfig::epochs(40)), 1438, 32, 1).unwrap();
        assert!(dp.noise_multiplier > alone.noise_multiplier, "training gets less of ε: {} vs {}", dp.noise_multiplier, alone.noise_multiplier);
        let spent = PrivacyGuarantee::spent(&config, &dp, 1800).unwrap();
        let n = spent.normalizer.clone().unwrap();
        assert!(spent.epsilon <= 1.0 && spent.epsilon > 1.0 - 1e-6, "{spent:?}");
        assert!((n.epsilon - 0.1).abs() < 1e-9 && n.training_epsilon < 1.0 && n.epsilon + n.training_epsilon > 1.0, "RDP composes below the sum: {n:?}");
    }

    #[test]
    fn should_plan_the_noise_that_spends_the_target_over_the_budget() {
        let mut phases = adam(ConvergenceConfig::epochs(10));
        let dp = PrivacyConfig::epsilon(8.0).apply(&mut phases, 1438, 32, 1).unwrap();
        assert_eq!(dp.sample_rate, 32.0 / 1438.0);
        // 10 epochs of round(1438 / 32) = 45 batches.
        let spent = PrivacyGuarantee::spent(&PrivacyConfig::epsilon(8.0), &dp, 450).unwrap();
        assert!(spent.epsilon <= 8.0 && spent.epsilon > 7.99, "{spent:?}");
        assert!(phases[0].optimizer.chain().unwrap().privacy.is_some());
    }

    #[test]
    fn should_refuse_a_phase_without_budget_or_a_search_phase() {
        let mut unbounded = adam(ConvergenceConfig { max_epochs: None, target_loss: Some(0.1), ..ConvergenceConfig::epochs(1) });
        assert!(matches!(PrivacyConfig::epsilon(8.0).apply(&mut unbounded, 100, 10, 1), Err(Error::Privacy(_))));
        let mut ga = vec![PhaseConfig { optimizer: OptimizerConfig::Ga(GaConfig::default()), until: ConvergenceConfig::epochs(1) }];
        let err = PrivacyConfig::epsilon(8.0).apply(&mut ga, 100, 10, 1).unwrap_err().to_string();
        assert!(err.contains("needs a gradient optimiser"), "{err}");
    }
}
