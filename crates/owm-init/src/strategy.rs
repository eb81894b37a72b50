use owm_core::{Rng, Validate};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, orthogonal::orthogonal};

/// Which fan Kaiming (He) init scales by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FanMode {
    /// Preserve the variance of activations in the forward pass (PyTorch's default).
    #[default]
    FanIn,
    /// Preserve the variance of gradients in the backward pass.
    FanOut,
}

fn sqrt2() -> f64 {
    std::f64::consts::SQRT_2
}

fn one() -> f64 {
    1.0
}

/// How to draw the values of one parameter.
///
/// Fans follow PyTorch's `_calculate_fan_in_and_fan_out`, adapted to Burn's layouts: a rank-2 tensor is a Burn
/// `Linear` weight `[fan_in, fan_out]` (the transpose of PyTorch's `[out, in]`); a tensor of rank ≥ 3 is a
/// convolution kernel `[out_channels, in_channels, k…]` with `fan_in = in·∏k`, `fan_out = out·∏k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InitStrategy {
    /// All zeros.
    Zeros,
    /// The values of the same-shaped tensor `from` (default: the parameter's own path) in the tensor source
    /// named `source` (a bundle folder), as given to [`crate::InitPlan::apply_with`].
    Pretrained {
        /// The source's name.
        source: String,
        /// The tensor's path in the source, when it differs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// Every value `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// `U(low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Glorot uniform: `U(±gain·√(6 / (fan_in + fan_out)))`.
    XavierUniform {
        /// Gain (default 1).
        #[serde(default = "one")]
        gain: f64,
    },
    /// Glorot normal: `N(0, gain²·2 / (fan_in + fan_out))`.
    XavierNormal {
        /// Gain (default 1).
        #[serde(default = "one")]
        gain: f64,
    },
    /// He uniform: `U(±gain·√(3 / fan))`.
    KaimingUniform {
        /// Gain (default √2, ReLU's).
        #[serde(default = "sqrt2")]
        gain: f64,
        /// Which fan (default fan-in).
        #[serde(default)]
        mode: FanMode,
    },
    /// He normal: `N(0, gain² / fan)`.
    KaimingNormal {
        /// Gain (default √2, ReLU's).
        #[serde(default = "sqrt2")]
        gain: f64,
        /// Which fan (default fan-in).
        #[serde(default)]
        mode: FanMode,
    },
    /// A (semi-)orthogonal matrix over `[shape[0], ∏shape[1..]]`, times `gain` (Saxe et al., 2014).
    Orthogonal {
        /// Gain (default 1).
        #[serde(default = "one")]
        gain: f64,
    },
}

/// `(fan_in, fan_out)` of a parameter shape in Burn's layouts, or `None` below rank 2.
pub fn fans(shape: &[usize]) -> Option<(usize, usize)> {
    match shape.len() {
        0 | 1 => None,
        2 => Some((shape[0], shape[1])),
        _ => {
            let receptive: usize = shape[2..].iter().product();
            Some((shape[1] * receptive, shape[0] * receptive))
        }
    }
}

impl InitStrategy {
    /// The snake-case name of the strategy.
    pub fn name(&self) -> &'static str {
        match self {
            InitStrategy::Zeros => "zeros",
            InitStrategy::Pretrained { .. } => "pretrained",
            InitStrategy::Constant { .. } => "constant",
            InitStrategy::Uniform { .. } => "uniform",
            InitStrategy::Normal { .. } => "normal",
            InitStrategy::XavierUniform { .. } => "xavier_uniform",
            InitStrategy::XavierNormal { .. } => "xavier_normal",
            InitStrategy::KaimingUniform { .. } => "kaiming_uniform",
            InitStrategy::KaimingNormal { .. } => "kaiming_normal",
            InitStrategy::Orthogonal { .. } => "orthogonal",
        }
    }

    /// Draws the values of a parameter of `shape` (row-major), `path` naming it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::NeedsMatrix`] for a fan-based or orthogonal strategy on a tensor of rank below 2.
    pub fn sample(&self, path: &str, shape: &[usize], rng: &mut Rng) -> Result<Vec<f32>> {
        let n: usize = shape.iter().product();
        let fans = || fans(shape).ok_or_else(|| Error::NeedsMatrix { path: path.into(), shape: shape.to_vec(), strategy: self.name() });
        let uniform = |bound: f64, rng: &mut Rng| (0..n).map(|_| rng.uniform(-bound, bound) as f32).collect();
        let normal = |mean: f64, std: f64, rng: &mut Rng| (0..n).map(|_| rng.normal(mean, std) as f32).collect();
        Ok(match *self {
            InitStrategy::Pretrained { ref source, .. } => {
                return Err(Error::Source { path: path.into(), name: source.clone(), reason: "no such source was given (InitPlan::apply_with)".into() });
            }
            InitStrategy::Zeros => vec![0.0; n],
            InitStrategy::Constant { value } => vec![value as f32; n],
            InitStrategy::Uniform { low, high } => (0..n).map(|_| rng.uniform(low, high) as f32).collect(),
            InitStrategy::Normal { mean, std } => normal(mean, std, rng),
            InitStrategy::XavierUniform { gain } => {
                let (i, o) = fans()?;
                uniform(gain * (6.0 / (i + o) as f64).sqrt(), rng)
            }
            InitStrategy::XavierNormal { gain } => {
                let (i, o) = fans()?;
                normal(0.0, gain * (2.0 / (i + o) as f64).sqrt(), rng)
            }
            InitStrategy::KaimingUniform { gain, mode } => {
                let fan = pick(fans()?, mode);
                uniform(gain * (3.0 / fan as f64).sqrt(), rng)
            }
            InitStrategy::KaimingNormal { gain, mode } => {
                let fan = pick(fans()?, mode);
                normal(0.0, gain / (fan as f64).sqrt(), rng)
            }
            InitStrategy::Orthogonal { gain } => {
                if shape.len() < 2 {
                    return Err(Error::NeedsMatrix { path: path.into(), shape: shape.to_vec(), strategy: self.name() });
                }
                orthogonal(shape[0], n / shape[0].max(1), gain, rng)
            }
        })
    }
}

fn pick((fan_in, fan_out): (usize, usize), mode: FanMode) -> usize {
    match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    }
    .max(1)
}

impl Validate for InitStrategy {
    type Error = Error;

    fn check(&self) -> Result<()> {
        match *self {
            InitStrategy::Zeros => Ok(()),
            InitStrategy::Pretrained { ref source, .. } if source.is_empty() => {
                Err(Error::Source { path: String::new(), name: source.clone(), reason: "empty source name".into() })
            }
            InitStrategy::Pretrained { .. } => Ok(()),
            InitStrategy::Constant { value } if !value.is_finite() => Err(Error::NonFinite(value)),
            InitStrategy::Uniform { low, high } if !(low.is_finite() && high.is_finite() && low < high) => Err(Error::UniformBounds { low, high }),
            InitStrategy::Normal { mean, .. } if !mean.is_finite() => Err(Error::NonFinite(mean)),
            InitStrategy::Normal { std, .. } if !(std.is_finite() && std >= 0.0) => Err(Error::Std(std)),
            InitStrategy::XavierUniform { gain }
            | InitStrategy::XavierNormal { gain }
            | InitStrategy::KaimingUniform { gain, .. }
            | InitStrategy::KaimingNormal { gain, .. }
            | InitStrategy::Orthogonal { gain }
                if !(gain.is_finite() && gain > 0.0) =>
            {
                Err(Error::Gain(gain))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(v: &[f32]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        (mean, (v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n).sqrt())
    }

    #[test]
    fn should_compute_pytorch_fans_in_burn_layouts() {
        // torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(6, 3, 5, 5)) == (75, 150)
        assert_eq!(fans(&[6, 3, 5, 5]), Some((75, 150)));
        // A Burn Linear(64 -> 128) weight is [64, 128]; PyTorch's is [128, 64]: fan_in 64, fan_out 128 in both.
        assert_eq!(fans(&[64, 128]), Some((64, 128)));
        assert_eq!(fans(&[10]), None);
    }

    #[test]
    fn should_draw_kaiming_and_xavier_with_the_documented_spread() {
        let mut rng = Rng::new(0);
        // Kaiming normal, fan_in 400, gain sqrt(2): std = sqrt(2 / 400) = 0.0707.
        let v = InitStrategy::KaimingNormal { gain: sqrt2(), mode: FanMode::FanIn }.sample("w", &[400, 120], &mut rng).unwrap();
        let (m, s) = moments(&v);
        assert!(m.abs() < 0.002 && (s - 0.070_710_7).abs() < 0.001, "{m} {s}");
        // Kaiming uniform, fan_out 120: bound = sqrt(2) * sqrt(3 / 120) = 0.2236 and std = bound / sqrt(3) = 0.1291.
        let v = InitStrategy::KaimingUniform { gain: sqrt2(), mode: FanMode::FanOut }.sample("w", &[400, 120], &mut rng).unwrap();
        assert!(v.iter().all(|x| x.abs() <= 0.223_607) && (moments(&v).1 - 0.129_1).abs() < 0.002);
        // Xavier uniform on [6, 3, 5, 5]: bound = sqrt(6 / (75 + 150)) = 0.1633.
        let v = InitStrategy::XavierUniform { gain: 1.0 }.sample("w", &[6, 3, 5, 5], &mut rng).unwrap();
        assert!(v.iter().all(|x| x.abs() <= 0.163_300) && v.iter().any(|x| x.abs() > 0.15));
    }

    #[test]
    fn fan_based_strategies_need_a_matrix() {
        let err = InitStrategy::XavierNormal { gain: 1.0 }.sample("fc.bias", &[3], &mut Rng::new(0)).unwrap_err();
        assert!(matches!(err, Error::NeedsMatrix { ref path, .. } if path == "fc.bias"), "{err}");
        assert!(InitStrategy::Orthogonal { gain: 1.0 }.sample("b", &[3], &mut Rng::new(0)).is_err());
    }

    #[test]
    fn uniform_bounds_must_be_ordered() {
        assert!(matches!(InitStrategy::Uniform { low: 1.0, high: 1.0 }.check(), Err(Error::UniformBounds { .. })));
    }

    #[test]
    fn std_must_be_non_negative() {
        assert!(matches!(InitStrategy::Normal { mean: 0.0, std: -1.0 }.check(), Err(Error::Std(_))));
    }

    #[test]
    fn values_must_be_finite() {
        assert!(matches!(InitStrategy::Constant { value: f64::NAN }.check(), Err(Error::NonFinite(_))));
        assert!(matches!(InitStrategy::Normal { mean: f64::INFINITY, std: 1.0 }.check(), Err(Error::NonFinite(_))));
    }

    #[test]
    fn gain_must_be_positive() {
        assert!(matches!(InitStrategy::Orthogonal { gain: 0.0 }.check(), Err(Error::Gain(_))));
        assert!(matches!(InitStrategy::KaimingNormal { gain: -1.0, mode: FanMode::FanIn }.check(), Err(Error::Gain(_))));
    }

    #[test]
    fn should_read_defaults_from_json() {
        let s: InitStrategy = serde_json::from_str(r#"{"kind":"kaiming_uniform"}"#).unwrap();
        assert_eq!(s, InitStrategy::KaimingUniform { gain: sqrt2(), mode: FanMode::FanIn });
    }
}
