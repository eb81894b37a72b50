//! The explanation of a run in words: why it stopped, which parameters changed most and when, and warnings
//! from documented rules with fixed thresholds.
//!
//! | rule | fires when | severity |
//! |---|---|---|
//! | `diverged` | the loss became NaN/∞, or the mean loss of the last tenth of the steps is above 1.5× that of the first tenth | alarm |
//! | `exploding_gradients` | a parameter's ‖g‖ exceeds 1000× its median over the first tenth of the steps, or is not finite | alarm |
//! | `lr_too_high` | the median ‖Δw‖/‖w‖ over all parameters and steps is above 0.1 (the usual range is about 1e-3) | warning |
//! | `lr_too_low` | the median ‖Δw‖/‖w‖ is below 1e-6 and the loss fell by less than 1% | warning |
//! | `update_ratio` | one parameter's median ‖Δw‖/‖w‖ is above 0.1 or below 1e-5 while others move | warning |
//! | `frozen` | a parameter received a gradient but never changed (frozen by a group, or a zero rate) | warning |
//! | `no_gradient` | a parameter never received a gradient | warning |
//! | `vanishing_gradients` | a parameter's median ‖g‖ is below 1e-6× the largest parameter's median ‖g‖ | warning |
//! | `dead_units` | over the last fifth of the steps, a bias had on median ≥ 10% of its units without any gradient (dead ReLU units) | warning |
//! | `overfitting` | the validation loss's last value is more than 5% above its minimum, reached at least two validations earlier, while the training loss fell since (warning; info when the run ended on the best round's weights) | warning |
//! | `changed_most` | always: the three parameters that moved most relative to their initial norm, and when | info |

use std::collections::BTreeMap;

use owm_core::{StopReason, TraceEvent};
use serde::Serialize;

use crate::Trace;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Probably a problem.
    Warning,
    /// The run failed or is about to.
    Alarm,
}

/// One observation about a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// The rule that fired (see the module docs for each rule and its threshold).
    pub rule: &'static str,
    /// The parameter it concerns.
    pub path: Option<String>,
    /// What was seen, in words.
    pub message: String,
}

/// A run explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Why the run stopped, in words.
    pub stop: String,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
}

impl Explanation {
    /// Findings of at least `severity`.
    pub fn at_least(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity >= severity)
    }
}

/// Thresholds of the rules (documented in the module docs).
const DIVERGED_RISE: f64 = 1.5;
const EXPLODING_FACTOR: f64 = 1e3;
const LR_HIGH: f64 = 1e-1;
const LR_LOW: f64 = 1e-6;
const LAYER_LOW: f64 = 1e-5;
const VANISHING_FACTOR: f64 = 1e-6;
const DEAD_FRACTION: f64 = 0.1;

/// Per-parameter series of the step records.
#[derive(Default)]
struct Layer {
    grad: Vec<f64>,
    update: Vec<f64>,
    ratio: Vec<(u64, f64)>,
    weight: Vec<f64>,
    zero: Vec<f64>,
}

/// Explains a (possibly partial) trace.
pub fn explain(trace: &Trace) -> Explanation {
    let steps: Vec<&owm_core::StepRecord> = trace.steps().collect();
    let stop = match trace.events.iter().rev().find_map(|e| match e {
        TraceEvent::Stopped { reason, steps, epochs } => Some((reason, steps, epochs)),
        _ => None,
    }) {
        Some((reason, steps, epochs)) => {
            let restored: Vec<String> = trace
                .events
                .iter()
                .filter_map(|e| match e {
                    TraceEvent::BestRestored(b) => {
                        Some(format!(" Phase {} ended on the weights of its round {} ({} {:.6}), its best.", b.phase, b.round, b.metric, b.value))
                    }
                    _ => None,
                })
                .collect();
            format!("The run stopped after {steps} steps ({epochs} epochs): {reason}.{}", restored.concat())
        }
        None => format!(
            "The trace ends at step {} without a stop record: the run was killed (or is still running); `owm resume RUN` continues it.",
            last_step(trace)
        ),
    };
    let mut findings = Vec::new();
    let one_d: Vec<String> = trace
        .events
        .iter()
        .find_map(|e| match e {
            TraceEvent::RunStarted { params, .. } => Some(params.iter().filter(|p| p.shape.len() == 1).map(|p| p.path.clone()).collect()),
            _ => None,
        })
        .unwrap_or_default();
    let mut layers: BTreeMap<String, Layer> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for s in &steps {
        for l in &s.layers {
            if !layers.contains_key(&l.path) {
                order.push(l.path.clone());
            }
            let e = layers.entry(l.path.clone()).or_default();
            e.grad.push(l.grad_norm);
            e.update.push(l.update_norm);
            e.ratio.push((s.step, l.update_ratio));
            e.weight.push(l.weight_norm);
            e.zero.push(l.zero_grads);
        }
    }

    // Divergence of the loss.
    let non_finite = trace.events.iter().any(|e| matches!(e, TraceEvent::Stopped { reason: StopReason::NonFiniteLoss { .. }, .. }));
    let losses: Vec<f64> = steps.iter().map(|s| s.loss).collect();
    let tenth = (losses.len() / 10).max(1);
    if non_finite || losses.iter().any(|l| !l.is_finite()) {
        findings.push(finding(
            Severity::Alarm,
            "diverged",
            None,
            "the loss became NaN or infinite: the run diverged (a learning rate far too high is the usual cause)".into(),
        ));
    } else if losses.len() >= 10 {
        let (first, last) = (mean(&losses[..tenth]), mean(&losses[losses.len() - tenth..]));
        if last > DIVERGED_RISE * first {
            findings.push(finding(
                Severity::Alarm,
                "diverged",
                None,
                format!("the loss rose from {first:.4} (first tenth of the steps) to {last:.4} (last tenth): the run diverged"),
            ));
        }
    }

    // Update ratios, globally and per parameter.
    let all_ratios: Vec<f64> = layers.values().flat_map(|l| l.ratio.iter().map(|r| r.1)).filter(|r| r.is_finite() && *r > 0.0).collect();
    if let Some(m) = median(all_ratios.clone()) {
        if m > LR_HIGH {
            findings.push(finding(
                Severity::Warning,
                "lr_too_high",
                None,
                format!("each step changes the weights by a median {:.1}% (‖Δw‖/‖w‖ = {m:.2e}; the usual range is about 1e-3): the learning rate is probably too high", m * 100.0),
            ));
        } else if m < LR_LOW && losses.len() >= 2 && losses[losses.len() - 1] > 0.99 * losses[0] {
            findings.push(finding(
                Severity::Warning,
                "lr_too_low",
                None,
                format!("the weights barely move (median ‖Δw‖/‖w‖ = {m:.2e}) and the loss fell by less than 1%: the learning rate is probably too low"),
            ));
        }
    }
    let mut grad_medians: Vec<(String, f64)> = Vec::new();
    for path in &order {
        let l = &layers[path];
        let got_gradient = l.grad.iter().any(|g| g.is_finite() && *g > 0.0);
        let moved = l.update.iter().any(|u| *u > 0.0);
        if !got_gradient && !moved {
            findings.push(finding(
                Severity::Warning,
                "no_gradient",
                Some(path),
                format!("`{path}` never received a gradient and never changed: it does not influence the loss"),
            ));
            continue;
        }
        if got_gradient && !moved {
            findings.push(finding(
                Severity::Warning,
                "frozen",
                Some(path),
                format!(
                    "`{path}` received gradients (median ‖g‖ {:.2e}) but never changed: it is frozen (by a parameter group) or its learning rate is 0",
                    median(l.grad.clone()).unwrap_or(f64::NAN)
                ),
            ));
            continue;
        }
        if let Some(m) = median(l.ratio.iter().map(|r| r.1).filter(|r| r.is_finite()).collect()) {
            if m > LR_HIGH && all_ratios.len() > 1 && median(all_ratios.clone()).is_some_and(|g| g <= LR_HIGH) {
                findings.push(finding(
                    Severity::Warning,
                    "update_ratio",
                    Some(path),
                    format!("`{path}` moves fast: median ‖Δw‖/‖w‖ {m:.2e}, far above the usual 1e-3"),
                ));
            } else if (0.0..LAYER_LOW).contains(&m) {
                findings.push(finding(
                    Severity::Warning,
                    "update_ratio",
                    Some(path),
                    format!("`{path}` barely moves: median ‖Δw‖/‖w‖ {m:.2e}, far below the usual 1e-3"),
                ));
            }
        }
        // Exploding gradients: against the layer's own early median.
        let early = median(l.grad[..(l.grad.len() / 10).max(1)].iter().copied().filter(|g| g.is_finite()).collect());
        if let Some(early) = early.filter(|e| *e > 0.0)
            && let Some((i, g)) = l.grad.iter().enumerate().find(|(_, g)| !g.is_finite() || **g > EXPLODING_FACTOR * early)
        {
            let step = l.ratio.get(i).map_or(0, |r| r.0);
            findings.push(finding(
                Severity::Alarm,
                "exploding_gradients",
                Some(path),
                format!("`{path}`'s gradient norm reached {g:.3e} at step {step}, over 1000× its early median {early:.3e}: gradients are exploding"),
            ));
        }
        if let Some(m) = median(l.grad.iter().copied().filter(|g| g.is_finite()).collect()) {
            grad_medians.push((path.clone(), m));
        }
        if one_d.contains(path) {
            let tail = &l.zero[l.zero.len() - (l.zero.len() / 5).max(1)..];
            if let Some(z) = median(tail.iter().copied().filter(|z| z.is_finite()).collect())
                && z >= DEAD_FRACTION
            {
                findings.push(finding(
                    Severity::Warning,
                    "dead_units",
                    Some(path),
                    format!(
                        "{:.0}% of the units of `{path}` get no gradient from any item of a batch (median over the last fifth of the steps): dead ReLU units",
                        z * 100.0
                    ),
                ));
            }
        }
    }
    if let Some(top) = grad_medians.iter().map(|g| g.1).fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.max(g)))) {
        for (path, m) in &grad_medians {
            if *m < VANISHING_FACTOR * top {
                findings.push(finding(
                    Severity::Warning,
                    "vanishing_gradients",
                    Some(path),
                    format!("`{path}`'s median gradient norm {m:.2e} is below a millionth of the largest ({top:.2e}): its gradients vanish"),
                ));
            }
        }
    }

    // What changed most, and when.
    let mut moved: Vec<(String, f64, u64, u64)> = order
        .iter()
        .filter_map(|path| {
            let l = &layers[path];
            let w0 = l.weight.first().copied().unwrap_or(0.0).max(l.weight.last().copied().unwrap_or(0.0));
            if w0.is_nan() || w0 <= 0.0 {
                return None;
            }
            let total: f64 = l.update.iter().filter(|u| u.is_finite()).sum();
            // The stretch of steps that carried the middle 80% of the movement.
            let (mut acc, mut from, mut to) = (0.0, 0, 0);
            for (u, (step, _)) in l.update.iter().zip(&l.ratio) {
                if !u.is_finite() {
                    continue;
                }
                acc += u;
                if from == 0 && acc >= 0.1 * total {
                    from = *step;
                }
                if to == 0 && acc >= 0.9 * total {
                    to = *step;
                }
            }
            Some((path.clone(), total / w0, from, to))
        })
        .collect();
    moved.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !moved.is_empty() {
        let text = moved
            .iter()
            .take(3)
            .map(|(p, r, from, to)| format!("`{p}` (Σ‖Δw‖ = {r:.2}× its largest norm, 80% of it in steps {from}–{to})"))
            .collect::<Vec<_>>()
            .join("; ");
        findings.push(finding(Severity::Info, "changed_most", None, format!("changed most: {text}")));
    }
    findings.extend(overfitting(trace));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Explanation { stop, findings }
}

/// The `overfitting` rule: of the last phase that validated, the round whose validation loss was lowest, when
/// the loss has since risen by more than 5% while the training loss fell.
fn overfitting(trace: &Trace) -> Option<Finding> {
    let phase = trace.validations().last()?.phase;
    let curve: Vec<(u64, u64, f64)> =
        trace.validations().filter(|v| v.phase == phase).filter_map(|v| v.metrics.get("val_loss").map(|&l| (v.round, v.steps, l))).collect();
    let (at, &(round, step, best)) = curve.iter().enumerate().min_by(|a, b| a.1.2.total_cmp(&b.1.2))?;
    let &(_, last_step, last) = curve.last()?;
    let train_at = |step: u64| trace.epochs().filter(|e| e.steps <= step).last().map(|e| e.train_loss);
    let train_fell = match (train_at(step), train_at(last_step)) {
        (Some(then), Some(now)) => now < then,
        _ => true,
    };
    if curve.len() - at < 3 || last <= best * 1.05 || !train_fell {
        return None;
    }
    let restored = trace.events.iter().any(|e| matches!(e, TraceEvent::BestRestored(b) if b.phase == phase && b.round == round));
    // A gradient phase's round is an epoch: named by the run's epoch number.
    let since = trace.epochs().find(|e| e.steps == step).map_or_else(|| format!("round {round} of phase {phase}"), |e| format!("epoch {}", e.epoch));
    let (severity, ending) = if restored {
        (Severity::Info, format!("the run ended on the weights of {since}"))
    } else {
        (Severity::Warning, "the final weights are past the best; early stopping on val_loss (restoring the best) would keep them".to_string())
    };
    Some(finding(
        severity,
        "overfitting",
        None,
        format!(
            "over-fitting since {since} (step {step}): validation loss {best:.4} then, {last:.4} at the end ({:+.0}%) while the training loss fell; {ending}",
            (last / best - 1.0) * 100.0
        ),
    ))
}

fn finding(severity: Severity, rule: &'static str, path: Option<&String>, message: String) -> Finding {
    Finding { severity, rule, path: path.cloned(), message }
}

fn last_step(trace: &Trace) -> u64 {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Step(s) => Some(s.step),
            TraceEvent::Generation(g) => Some(g.step),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}
