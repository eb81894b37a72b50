use owm_core::{StopReason, Validate};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A minimum rate of loss descent: stop when the epoch loss fell by less than `min_rate` (relative, per epoch)
/// over the last `window` epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescentRate {
    /// Epochs to look back.
    pub window: u64,
    /// Minimum relative decrease per epoch, e.g. `0.001` for 0.1%.
    pub min_rate: f64,
}

/// When to stop optimising; the first criterion met wins.
///
/// A non-finite loss always stops the run, with [`StopReason::NonFiniteLoss`].
/// At least one budget (`max_epochs` or `max_steps`) is required so that every run ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceConfig {
    /// Epoch budget.
    #[serde(default)]
    pub max_epochs: Option<u64>,
    /// Step budget.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Stop once the epoch's mean training loss is at or below this.
    #[serde(default)]
    pub target_loss: Option<f64>,
    /// Stop when the loss stops falling fast enough.
    #[serde(default)]
    pub descent: Option<DescentRate>,
}

impl ConvergenceConfig {
    /// Stop after `max_epochs` epochs, with no other criterion.
    pub fn epochs(max_epochs: u64) -> Self {
        Self { max_epochs: Some(max_epochs), max_steps: None, target_loss: None, descent: None }
    }
}

impl Validate for ConvergenceConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if self.max_epochs.is_none() && self.max_steps.is_none() {
            return Err(Error::NoBudget);
        }
        if self.max_epochs == Some(0) {
            return Err(Error::ZeroBudget("max_epochs"));
        }
        if self.max_steps == Some(0) {
            return Err(Error::ZeroBudget("max_steps"));
        }
        if let Some(t) = self.target_loss.filter(|t| !t.is_finite()) {
            return Err(Error::TargetLoss(t));
        }
        if let Some(d) = &self.descent {
            if d.window == 0 {
                return Err(Error::DescentWindow);
            }
            if !(d.min_rate.is_finite() && d.min_rate >= 0.0) {
                return Err(Error::DescentRate(d.min_rate));
            }
        }
        Ok(())
    }
}

/// The running state of a [`ConvergenceConfig`]: feed it every step's and every epoch's loss.
#[derive(Debug, Clone)]
pub struct Convergence {
    config: ConvergenceConfig,
    epoch_losses: Vec<f64>,
}

impl Convergence {
    /// Starts tracking after checking the config.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule broken.
    pub fn new(config: ConvergenceConfig) -> Result<Self> {
        config.check()?;
        Ok(Self { config, epoch_losses: Vec::new() })
    }

    /// The config.
    pub fn config(&self) -> &ConvergenceConfig {
        &self.config
    }

    /// Called with the loss of step `step` (from 1) before its update is applied: stops on a NaN or infinite
    /// loss, so the weights kept are the last finite ones.
    pub fn check_loss(&self, step: u64, loss: f64) -> Option<StopReason> {
        (!loss.is_finite()).then_some(StopReason::NonFiniteLoss { step, loss })
    }

    /// Called after step `step` (from 1) was applied: stops on a spent step budget.
    pub fn after_step(&self, step: u64) -> Option<StopReason> {
        match self.config.max_steps {
            Some(max_steps) if step >= max_steps => Some(StopReason::MaxSteps { max_steps }),
            _ => None,
        }
    }

    /// Called after epoch `epoch` (from 1) with its mean loss: target, descent rate, then epoch budget.
    pub fn after_epoch(&mut self, epoch: u64, loss: f64) -> Option<StopReason> {
        self.epoch_losses.push(loss);
        if let Some(target) = self.config.target_loss.filter(|&t| loss <= t) {
            return Some(StopReason::TargetLoss { loss, target });
        }
        if let Some(d) = &self.config.descent {
            let w = d.window as usize;
            if self.epoch_losses.len() > w {
                let past = self.epoch_losses[self.epoch_losses.len() - 1 - w];
                let rate = (past - loss) / (w as f64 * past.abs().max(f64::MIN_POSITIVE));
                if rate < d.min_rate {
                    return Some(StopReason::DescentStalled { rate, min_rate: d.min_rate, window: d.window });
                }
            }
        }
        match self.config.max_epochs {
            Some(max_epochs) if epoch >= max_epochs => Some(StopReason::MaxEpochs { max_epochs }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_stop_on_the_epoch_budget() {
        let mut c = Convergence::new(ConvergenceConfig::epochs(2)).unwrap();
        assert_eq!(c.after_epoch(1, 1.0), None);
        assert_eq!(c.after_epoch(2, 0.5), Some(StopReason::MaxEpochs { max_epochs: 2 }));
    }

    #[test]
    fn should_stop_on_the_step_budget_and_on_non_finite_loss() {
        let c = Convergence::new(ConvergenceConfig { max_steps: Some(3), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(c.after_step(2), None);
        assert!(matches!(c.check_loss(3, f64::NAN), Some(StopReason::NonFiniteLoss { step: 3, .. })));
        assert!(matches!(c.check_loss(3, f64::NEG_INFINITY), Some(StopReason::NonFiniteLoss { .. })));
        assert_eq!(c.check_loss(3, 1.0), None);
        assert_eq!(c.after_step(3), Some(StopReason::MaxSteps { max_steps: 3 }));
    }

    #[test]
    fn should_stop_at_the_target_loss() {
        let mut c = Convergence::new(ConvergenceConfig { target_loss: Some(0.1), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(c.after_epoch(1, 0.2), None);
        assert_eq!(c.after_epoch(2, 0.1), Some(StopReason::TargetLoss { loss: 0.1, target: 0.1 }));
    }

    #[test]
    fn should_stop_when_descent_stalls() {
        let descent = Some(DescentRate { window: 2, min_rate: 0.01 });
        let mut c = Convergence::new(ConvergenceConfig { descent, ..ConvergenceConfig::epochs(99) }).unwrap();
        // 1.0 -> 0.5 -> 0.25: halving each epoch, far above 1% per epoch.
        for (e, l) in [(1, 1.0), (2, 0.5), (3, 0.25)] {
            assert_eq!(c.after_epoch(e, l), None);
        }
        // 0.5 -> 0.2495 over 2 epochs is still fast; then 0.25 -> 0.2475 over 2 epochs is 0.5% per epoch.
        assert_eq!(c.after_epoch(4, 0.2490), None);
        let stop = c.after_epoch(5, 0.2475).unwrap();
        assert!(matches!(stop, StopReason::DescentStalled { rate, window: 2, .. } if (rate - 0.005).abs() < 1e-12), "{stop:?}");
    }

    #[test]
    fn a_budget_is_required() {
        let c = ConvergenceConfig { max_epochs: None, ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::NoBudget)));
    }

    #[test]
    fn budgets_must_be_positive() {
        assert!(matches!(ConvergenceConfig::epochs(0).check(), Err(Error::ZeroBudget("max_epochs"))));
        let c = ConvergenceConfig { max_steps: Some(0), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::ZeroBudget("max_steps"))));
    }

    #[test]
    fn target_loss_must_be_finite() {
        let c = ConvergenceConfig { target_loss: Some(f64::NAN), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::TargetLoss(_))));
    }

    #[test]
    fn descent_window_must_be_positive() {
        let c = ConvergenceConfig { descent: Some(DescentRate { window: 0, min_rate: 0.1 }), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::DescentWindow)));
    }

    #[test]
    fn descent_rate_must_be_non_negative() {
        let c = ConvergenceConfig { descent: Some(DescentRate { window: 1, min_rate: -0.1 }), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::DescentRate(_))));
    }
}
