//! One setting given to every phase that has it: what `owm train --lr 0.01` or `--population 40` means
//! when the config holds several phases of different kinds.

use crate::{OptimizerConfig, Schedule};

/// A setting by name, set on every optimiser that has it ([`OptimizerConfig::apply`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Setting {
    /// The learning rate (gradient methods and the evolution strategy).
    Lr(f64),
    /// Momentum (SGD, momentum, Nesterov, RMSProp).
    Momentum(f64),
    /// Weight decay (every gradient preset but plain gradient descent).
    WeightDecay(f64),
    /// Population (genetic algorithm, evolution strategy).
    Population(usize),
    /// Noise scale (evolution strategy).
    Sigma(f64),
    /// Initial temperature (simulated annealing).
    T0(f64),
    /// Clipping of the gradients' global norm (gradient presets; an explicit chain lists its own transforms).
    ClipNorm(f64),
    /// The learning-rate schedule (gradient presets; an explicit chain holds its own).
    Schedule(Schedule),
    /// Lazy updates of embedding tables ([`crate::ChainConfig::lazy`]; every gradient method).
    Lazy(bool),
}

impl Setting {
    /// The setting's name in configs (`"lr"`, `"weight_decay"`).
    pub fn name(&self) -> &'static str {
        match self {
            Setting::Lr(_) => "lr",
            Setting::Momentum(_) => "momentum",
            Setting::WeightDecay(_) => "weight_decay",
            Setting::Population(_) => "population",
            Setting::Sigma(_) => "sigma",
            Setting::T0(_) => "t0",
            Setting::ClipNorm(_) => "clip_norm",
            Setting::Schedule(_) => "schedule",
            Setting::Lazy(_) => "lazy",
        }
    }
}

impl OptimizerConfig {
    /// Sets `setting` if this optimiser has it, keeping every other setting; returns whether it did.
    ///
    /// The result is not checked: call [`owm_core::Validate::check`] after the last change.
    pub fn apply(&mut self, setting: &Setting) -> bool {
        use OptimizerConfig as O;
        use Setting as S;
        match (self, setting) {
            (O::Gd(c), S::Lr(v)) => c.lr = *v,
            (O::Sgd(c), S::Lr(v)) => c.lr = *v,
            (O::Momentum(c) | O::Nesterov(c), S::Lr(v)) => c.lr = *v,
            (O::Adam(c), S::Lr(v)) => c.lr = *v,
            (O::Adamw(c), S::Lr(v)) => c.lr = *v,
            (O::Rmsprop(c), S::Lr(v)) => c.lr = *v,
            (O::Adagrad(c), S::Lr(v)) => c.lr = *v,
            (O::Chain(c), S::Lr(v)) => c.lr = *v,
            (O::Es(c), S::Lr(v)) => c.lr = *v,
            (O::Sgd(c), S::Momentum(v)) => c.momentum = *v,
            (O::Momentum(c) | O::Nesterov(c), S::Momentum(v)) => c.momentum = *v,
            (O::Rmsprop(c), S::Momentum(v)) => c.momentum = *v,
            (O::Sgd(c), S::WeightDecay(v)) => c.weight_decay = *v,
            (O::Momentum(c) | O::Nesterov(c), S::WeightDecay(v)) => c.weight_decay = *v,
            (O::Adam(c), S::WeightDecay(v)) => c.weight_decay = *v,
            (O::Adamw(c), S::WeightDecay(v)) => c.weight_decay = *v,
            (O::Rmsprop(c), S::WeightDecay(v)) => c.weight_decay = *v,
            (O::Adagrad(c), S::WeightDecay(v)) => c.weight_decay = *v,
            (O::Ga(c), S::Population(v)) => c.population = *v,
            (O::Es(c), S::Population(v)) => c.population = *v,
            (O::Es(c), S::Sigma(v)) => c.sigma = *v,
            (O::Sa(c), S::T0(v)) => c.t0 = *v,
            (preset, S::ClipNorm(v)) => match preset.extras() {
                Some(extras) => extras.clip_norm = Some(*v),
                None => return false,
            },
            (O::Chain(c), S::Lazy(v)) => c.lazy = *v,
            (preset, S::Lazy(v)) => match preset.extras() {
                Some(extras) => extras.lazy = *v,
                None => return false,
            },
            (preset, S::Schedule(v)) => match preset.extras() {
                Some(extras) => extras.schedule = v.clone(),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    /// The clipping, schedule and group settings of a gradient preset; `None` for an explicit chain (which
    /// lists its own transforms) and for search methods.
    fn extras(&mut self) -> Option<&mut crate::ChainExtras> {
        use OptimizerConfig as O;
        Some(match self {
            O::Gd(c) => &mut c.extras,
            O::Sgd(c) => &mut c.extras,
            O::Momentum(c) | O::Nesterov(c) => &mut c.extras,
            O::Adam(c) => &mut c.extras,
            O::Adamw(c) => &mut c.extras,
            O::Rmsprop(c) => &mut c.extras,
            O::Adagrad(c) => &mut c.extras,
            O::Chain(_) | O::Ga(_) | O::Sa(_) | O::Es(_) | O::Custom { .. } => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(json: &str) -> OptimizerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_setting_should_change_only_itself_where_the_optimiser_has_it() {
        let mut sgd = parsed(r#"{"kind": "sgd", "lr": 0.1, "momentum": 0.5, "nesterov": true, "weight_decay": 0.01}"#);
        assert!(sgd.apply(&Setting::Lr(0.05)));
        assert_eq!(sgd, parsed(r#"{"kind": "sgd", "lr": 0.05, "momentum": 0.5, "nesterov": true, "weight_decay": 0.01}"#));
        let mut adam = parsed(r#"{"kind": "adam"}"#);
        assert!(!adam.apply(&Setting::Momentum(0.9)));
        assert!(!adam.apply(&Setting::Population(40)));
        assert_eq!(adam, parsed(r#"{"kind": "adam"}"#));
    }

    #[test]
    fn clipping_and_schedules_should_go_to_presets_but_not_to_explicit_chains_or_searches() {
        let mut adam = parsed(r#"{"kind": "adam"}"#);
        assert!(adam.apply(&Setting::ClipNorm(1.0)));
        let cosine: Schedule = serde_json::from_str(r#"{"kind": "cosine", "t_max": 100}"#).unwrap();
        assert!(adam.apply(&Setting::Schedule(cosine)));
        assert_eq!(adam, parsed(r#"{"kind": "adam", "clip_norm": 1.0, "schedule": {"kind": "cosine", "t_max": 100}}"#));
        let mut chain = parsed(r#"{"kind": "chain", "lr": 0.1, "transforms": []}"#);
        assert!(!chain.apply(&Setting::ClipNorm(1.0)));
        assert!(chain.apply(&Setting::Lr(0.2)));
        let mut ga = parsed(r#"{"kind": "ga"}"#);
        assert!(!ga.apply(&Setting::Schedule(Schedule::Constant)));
        assert!(ga.apply(&Setting::Population(12)));
    }
}
