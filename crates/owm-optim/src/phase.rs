use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{ConvergenceConfig, Error, OptimizerConfig, Result};

/// One phase of a run: an optimiser and the criteria that end it. Phases share the weights, so a genetic
/// algorithm can choose a starting point for Adam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseConfig {
    /// The optimiser.
    pub optimizer: OptimizerConfig,
    /// When the phase ends.
    pub until: ConvergenceConfig,
}

impl Validate for PhaseConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.optimizer.check()?;
        self.until.check()
    }
}

/// Keys of a spec that set the phase's criteria rather than the optimiser.
const CRITERIA: [(&str, &str); 9] = [
    ("steps", "max_steps"),
    ("generations", "max_steps"),
    ("iterations", "max_steps"),
    ("epochs", "max_epochs"),
    ("evaluations", "max_evaluations"),
    ("seconds", "max_seconds"),
    ("target_loss", "target_loss"),
    ("target_accuracy", "target_accuracy"),
    ("patience", "plateau.patience"),
];

impl PhaseConfig {
    /// Reads a command-line spec: phases separated by commas, each `kind[:key=value...]`, where a key is an
    /// optimiser setting (dotted for nested ones: `schedule.kind=cosine`) or a criterion (`steps`,
    /// `generations`, `epochs`, `evaluations`, `seconds`, `target_loss`, `target_accuracy`, `patience`).
    /// `key=value` items after a comma continue the phase before them.
    ///
    /// Phases without a criterion get `default_until`. Example: `ga:generations=30:population=40,adam:lr=0.01`.
    ///
    /// # Errors
    ///
    /// [`Error::Spec`] naming the spec and the reason, or the first config rule broken.
    pub fn parse_list(spec: &str, default_until: &ConvergenceConfig) -> Result<Vec<PhaseConfig>> {
        let err = |reason: String| Error::Spec { spec: spec.to_owned(), reason };
        let mut phases: Vec<(serde_json::Value, serde_json::Value)> = Vec::new();
        for token in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let mut items = token.split(':');
            let head = items.next().unwrap_or_default();
            let settings: Vec<&str> = if head.contains('=') {
                if phases.is_empty() {
                    return Err(err(format!("`{head}` comes before any optimiser kind")));
                }
                std::iter::once(head).chain(items).collect()
            } else {
                phases.push((serde_json::json!({ "kind": head }), serde_json::json!({})));
                items.collect()
            };
            #[allow(clippy::expect_used, reason = "a phase was pushed, or the function returned, just above")]
            let (optimizer, until) = phases.last_mut().expect("pushed above");
            for item in settings {
                let (key, value) = item.split_once('=').ok_or_else(|| err(format!("`{item}` is not key=value")))?;
                let value: serde_json::Value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
                match CRITERIA.iter().find(|(k, _)| *k == key) {
                    Some((_, field)) => set(until, field, value),
                    None => set(optimizer, key, value),
                }
            }
        }
        if phases.is_empty() {
            return Err(err("no optimiser named".into()));
        }
        phases
            .into_iter()
            .map(|(optimizer, until)| {
                let kind = optimizer["kind"].as_str().unwrap_or_default().to_owned();
                let optimizer: OptimizerConfig = serde_json::from_value(optimizer).map_err(|e| err(format!("`{kind}`: {e}")))?;
                let until = match until.as_object().is_some_and(|o| !o.is_empty()) {
                    true => serde_json::from_value(until).map_err(|e| err(format!("`{kind}` criteria: {e}")))?,
                    false => default_until.clone(),
                };
                let phase = PhaseConfig { optimizer, until };
                phase.check()?;
                Ok(phase)
            })
            .collect()
    }
}

/// Sets `object[a][b]...` for a dotted `key`, creating objects on the way.
fn set(object: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    let mut at = object;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = serde_json::json!({});
        }
        #[allow(clippy::expect_used, reason = "made an object just above")]
        let map = at.as_object_mut().expect("made an object");
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        at = map.entry(part.to_owned()).or_insert_with(|| serde_json::json!({}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AdamConfig, GaConfig, Schedule};

    #[test]
    fn should_read_a_two_phase_spec() {
        let default = ConvergenceConfig::epochs(5);
        let phases = PhaseConfig::parse_list("ga:generations=30,population=40,adam:lr=0.01:schedule.kind=cosine:schedule.t_max=100", &default).unwrap();
        assert_eq!(phases.len(), 2);
        assert_eq!(phases[0].optimizer, OptimizerConfig::Ga(GaConfig { population: 40, ..GaConfig::default() }));
        assert_eq!(phases[0].until, ConvergenceConfig::steps(30));
        let mut adam = AdamConfig::new(0.01);
        adam.extras.schedule = Schedule::Cosine { t_max: 100, eta_min: 0.0, warmup: 0, warmup_factor: 1.0 / 3.0 };
        assert_eq!(phases[1], PhaseConfig { optimizer: OptimizerConfig::Adam(adam), until: default });
    }

    #[test]
    fn should_name_the_spec_when_it_cannot_be_read() {
        let default = ConvergenceConfig::epochs(5);
        let err = PhaseConfig::parse_list("lr=3", &default).unwrap_err();
        assert!(matches!(err, Error::Spec { .. }), "{err}");
        let err = PhaseConfig::parse_list("adamm", &default).unwrap_err();
        assert!(err.to_string().contains("adamm"), "{err}");
        assert!(matches!(PhaseConfig::parse_list("adam:lr=-1", &default), Err(Error::LearningRate(_))));
    }
}
