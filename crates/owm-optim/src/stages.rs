//! What each built-in [`Transform`] does to a group's updates: the same [`GradientTransform`] protocol a
//! user's stage implements.

use burn::prelude::*;

use crate::search::to_data;
use crate::{Error, Flow, GradientTransform, Result, Transform, TransformContext, fused};

impl GradientTransform for Transform {
    fn name(&self) -> String {
        match self {
            Transform::Custom { name, .. } => name.clone(),
            builtin => builtin.kind().to_string(),
        }
    }

    fn settings(&self) -> serde_json::Value {
        to_data(self)
    }

    fn update(&self, updates: Vec<Tensor<1>>, ctx: &mut TransformContext<'_>) -> Result<Flow> {
        let updates = match *self {
            Transform::SkipNonFinite => {
                let bad: i64 = updates.iter().map(count_non_finite).sum();
                if bad > 0 {
                    ctx.note(format!("skipped: {bad} non-finite gradient values"));
                    return Ok(Flow::Skip);
                }
                updates
            }
            Transform::Accumulate { steps } => {
                let n = ctx.tick();
                let sums: Vec<Tensor<1>> = updates
                    .into_iter()
                    .enumerate()
                    .map(|(i, u)| match ctx.take(i, "sum") {
                        Some(acc) => acc + u,
                        None => u,
                    })
                    .collect();
                if !n.is_multiple_of(steps) {
                    for (i, sum) in sums.into_iter().enumerate() {
                        ctx.put(i, "sum", sum);
                    }
                    ctx.note(format!("accumulating {}/{steps}", n % steps));
                    return Ok(Flow::Skip);
                }
                sums.into_iter().map(|s| s.div_scalar(steps as f64)).collect()
            }
            Transform::ClipByValue { max } => updates.into_iter().map(|u| u.clamp(-max, max)).collect(),
            Transform::ClipByGlobalNorm { max_norm } => {
                let total = updates.iter().map(|u| u.clone().square().sum()).reduce(|a, b| a + b);
                let norm = match total {
                    Some(t) => owm_core::device_scalar(t)?.sqrt(),
                    None => 0.0,
                };
                let coef = max_norm / (norm + 1e-6);
                if coef < 1.0 {
                    ctx.note(format!("clipped global norm {norm:.6} to {max_norm}"));
                    updates.into_iter().map(|u| u.mul_scalar(coef)).collect()
                } else {
                    updates
                }
            }
            Transform::WeightDecay { weight_decay } => {
                if weight_decay > 0.0 {
                    updates.into_iter().zip(ctx.params()).map(|(u, w)| u + w.clone().mul_scalar(weight_decay)).collect()
                } else {
                    updates
                }
            }
            Transform::Momentum { momentum, dampening, nesterov } => {
                if momentum > 0.0 {
                    let mut out = Vec::with_capacity(updates.len());
                    for (i, g) in updates.into_iter().enumerate() {
                        let buf = match ctx.take(i, "momentum") {
                            Some(b) => b.mul_scalar(momentum) + g.clone().mul_scalar(1.0 - dampening),
                            None => g.clone(),
                        };
                        ctx.put(i, "momentum", buf.clone());
                        out.push(if nesterov { g + buf.mul_scalar(momentum) } else { buf });
                    }
                    out
                } else {
                    updates
                }
            }
            Transform::Adam { beta1, beta2, eps } => {
                let step = ctx.tick() as i32;
                let (bc1, bc2) = (1.0 - beta1.powi(step), 1.0 - beta2.powi(step));
                let scalars = fused::AdamScalars { one_minus_beta1: 1.0 - beta1, beta2, one_minus_beta2: 1.0 - beta2, bc2_sqrt: bc2.sqrt(), bc1, eps };
                let mut out = Vec::with_capacity(updates.len());
                for (i, g) in updates.into_iter().enumerate() {
                    let moments = ctx.take(i, "m").zip(ctx.take(i, "v"));
                    // m ← m + (g − m)(1 − β₁), v ← β₂v + (1 − β₂)g², update m̂ / (√v̂ + ε).
                    let (update, m, v) = fused::adam(g, moments, scalars);
                    ctx.put(i, "m", m);
                    ctx.put(i, "v", v);
                    out.push(update);
                }
                out
            }
            Transform::RmsProp { alpha, eps, centered, momentum } => {
                let mut out = Vec::with_capacity(updates.len());
                for (i, g) in updates.into_iter().enumerate() {
                    let g2 = g.clone().square().mul_scalar(1.0 - alpha);
                    let v = match ctx.take(i, "square_avg") {
                        Some(v) => v.mul_scalar(alpha) + g2,
                        None => g2,
                    };
                    ctx.put(i, "square_avg", v.clone());
                    let avg = if centered {
                        let ga = match ctx.take(i, "grad_avg") {
                            Some(a) => a.clone() + (g.clone() - a).mul_scalar(1.0 - alpha),
                            None => g.clone().mul_scalar(1.0 - alpha),
                        };
                        ctx.put(i, "grad_avg", ga.clone());
                        (v - ga.square()).sqrt().add_scalar(eps)
                    } else {
                        v.sqrt().add_scalar(eps)
                    };
                    let step = g / avg;
                    out.push(if momentum > 0.0 {
                        let buf = match ctx.take(i, "momentum") {
                            Some(b) => b.mul_scalar(momentum) + step,
                            None => step,
                        };
                        ctx.put(i, "momentum", buf.clone());
                        buf
                    } else {
                        step
                    });
                }
                out
            }
            Transform::AdaGrad { eps, initial_accumulator_value } => {
                let mut out = Vec::with_capacity(updates.len());
                for (i, g) in updates.into_iter().enumerate() {
                    let sum = match ctx.take(i, "sum") {
                        Some(acc) => acc + g.clone().square(),
                        None => g.clone().square().add_scalar(initial_accumulator_value),
                    };
                    ctx.put(i, "sum", sum.clone());
                    out.push(g / sum.sqrt().add_scalar(eps));
                }
                out
            }
            Transform::Lr => {
                let lr = ctx.lr();
                updates.into_iter().map(|u| u.mul_scalar(-lr)).collect()
            }
            Transform::Custom { ref name, .. } => return Err(Error::CustomTransform(name.clone())),
        };
        Ok(Flow::Apply(updates))
    }
}

/// How many values of `t` are NaN or infinite.
///
/// A read that fails (a remote device whose server stopped) counts as one, without a panic; the step's next
/// read returns the device's error.
fn count_non_finite(t: &Tensor<1>) -> i64 {
    let n = t.clone().is_nan().int().sum() + t.clone().is_inf().int().sum();
    owm_core::device_scalar(n).map_or(1, |v| v as i64)
}
