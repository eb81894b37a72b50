//! Two sets of weights (bundles or checkpoints) compared parameter by parameter, and explained.

use std::path::Path;

use owm_core::TraceEvent;
use serde::Serialize;

use crate::{Checkpoint, Error, Result, files};

/// A set of weights by path, in the order they were stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedWeights {
    /// Where they came from.
    pub source: String,
    /// `(path, shape, values)`.
    pub params: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl NamedWeights {
    /// Reads the weights of a bundle folder, a run folder (its bundle, or its checkpoint when it has no
    /// bundle yet) or a checkpoint file (its parameter paths are read from the trace beside it).
    ///
    /// # Errors
    ///
    /// A bundle that fails verification; [`Error::Checkpoint`] for a checkpoint whose run trace is missing or
    /// does not fit; [`Error::Run`] for a path that is none of these.
    pub fn load(path: &Path) -> Result<Self> {
        let bundle = if path.join("manifest.json").is_file() {
            Some(path.to_path_buf())
        } else {
            Some(path.join(files::BUNDLE)).filter(|b| b.join("manifest.json").is_file())
        };
        if let Some(dir) = bundle {
            let b = owm_share::load_bundle(&dir)?;
            let params = b
                .tensors
                .into_iter()
                .map(|(p, data)| {
                    let shape = data.shape().to_vec();
                    let values = owm_core::host_f32(data);
                    (p, shape, values)
                })
                .collect();
            return Ok(Self { source: dir.display().to_string(), params });
        }
        let file = if path.is_dir() { path.join(files::CHECKPOINT) } else { path.to_path_buf() };
        if !file.is_file() {
            return Err(Error::Run { dir: path.to_path_buf(), reason: "neither a bundle, a run folder nor a checkpoint".into() });
        }
        let c = Checkpoint::load(&file)?;
        let err = |reason: String| Error::Checkpoint { path: file.clone(), source: reason.into() };
        let trace = file.parent().map(|d| d.join(files::TRACE)).ok_or_else(|| err("no run folder".into()))?;
        let trace = owm_trace::read_trace(&trace)?;
        let Some(TraceEvent::RunStarted { params: metas, .. }) = trace.events.first() else {
            return Err(err("the trace beside it does not start with the run's parameters".into()));
        };
        if metas.iter().map(owm_core::ParamMeta::numel).sum::<usize>() != c.weights.len() {
            return Err(err(format!("{} weights, the run's parameters hold {}", c.weights.len(), metas.iter().map(owm_core::ParamMeta::numel).sum::<usize>())));
        }
        let mut offset = 0;
        let params = metas
            .iter()
            .map(|m| {
                let n = m.numel();
                offset += n;
                (m.path.clone(), m.shape.clone(), c.weights[offset - n..offset].to_vec())
            })
            .collect();
        Ok(Self { source: format!("{} (step {})", file.display(), c.total_steps), params })
    }
}

/// How one parameter differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamDiff {
    /// Dotted module path.
    pub path: String,
    /// Shape in A and in B (equal unless `shape_b` says otherwise).
    pub shape: Vec<usize>,
    /// Shape in B, when it differs (the values are then not compared).
    pub shape_b: Option<Vec<usize>>,
    /// ‖a‖.
    pub norm_a: f64,
    /// ‖b‖.
    pub norm_b: f64,
    /// ‖b − a‖.
    pub diff_norm: f64,
    /// ‖b − a‖ / ‖a‖.
    pub relative: f64,
    /// cos(a, b).
    pub cosine: f64,
    /// max |b − a|.
    pub max_abs: f64,
    /// Fraction of values that differ.
    pub changed: f64,
}

/// Two sets of weights compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightsDiff {
    /// A's source.
    pub a: String,
    /// B's source.
    pub b: String,
    /// Parameters in both, in A's order.
    pub params: Vec<ParamDiff>,
    /// Paths only A has.
    pub only_a: Vec<String>,
    /// Paths only B has.
    pub only_b: Vec<String>,
}

/// Compares `a` and `b` parameter by parameter (matched by path).
pub fn diff_weights(a: &NamedWeights, b: &NamedWeights) -> WeightsDiff {
    let mut params = Vec::new();
    let mut only_a = Vec::new();
    for (path, shape, va) in &a.params {
        let Some((_, shape_b, vb)) = b.params.iter().find(|p| &p.0 == path) else {
            only_a.push(path.clone());
            continue;
        };
        let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let (norm_a, norm_b) = (norm(va), norm(vb));
        let mut d = ParamDiff {
            path: path.clone(),
            shape: shape.clone(),
            shape_b: (shape != shape_b).then(|| shape_b.clone()),
            norm_a,
            norm_b,
            diff_norm: f64::NAN,
            relative: f64::NAN,
            cosine: f64::NAN,
            max_abs: f64::NAN,
            changed: f64::NAN,
        };
        if d.shape_b.is_none() {
            let (mut sq, mut dot, mut max, mut changed) = (0.0, 0.0, 0.0f64, 0usize);
            for (x, y) in va.iter().zip(vb) {
                let (x, y) = (f64::from(*x), f64::from(*y));
                sq += (y - x).powi(2);
                dot += x * y;
                max = max.max((y - x).abs());
                changed += usize::from(x.to_bits() != y.to_bits());
            }
            d.diff_norm = sq.sqrt();
            d.relative = if norm_a > 0.0 { d.diff_norm / norm_a } else { f64::INFINITY };
            d.cosine = if norm_a > 0.0 && norm_b > 0.0 { dot / (norm_a * norm_b) } else { f64::NAN };
            d.max_abs = max;
            d.changed = changed as f64 / va.len().max(1) as f64;
        }
        params.push(d);
    }
    let only_b = b.params.iter().filter(|p| !a.params.iter().any(|q| q.0 == p.0)).map(|p| p.0.clone()).collect();
    WeightsDiff { a: a.source.clone(), b: b.source.clone(), params, only_a, only_b }
}

impl WeightsDiff {
    /// Whether the two are bit-identical.
    pub fn identical(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty() && self.params.iter().all(|p| p.changed == 0.0)
    }

    /// The comparison in words: what is identical, what changed most, direction and shape changes.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.identical() {
            out.push("the two sets of weights are bit-identical".into());
            return out;
        }
        let same: Vec<&str> = self.params.iter().filter(|p| p.changed == 0.0).map(|p| p.path.as_str()).collect();
        if !same.is_empty() {
            out.push(format!("identical: {}", same.join(", ")));
        }
        let mut moved: Vec<&ParamDiff> = self.params.iter().filter(|p| p.changed > 0.0).collect();
        moved.sort_by(|x, y| y.relative.total_cmp(&x.relative));
        if let Some(top) = moved.first() {
            out.push(format!(
                "changed most: `{}` (‖b−a‖/‖a‖ = {:.3}, {:.1}% of its values differ, cosine {:.4})",
                top.path,
                top.relative,
                top.changed * 100.0,
                top.cosine
            ));
        }
        for p in moved.iter().filter(|p| p.cosine < 0.5) {
            out.push(format!("`{}` points elsewhere (cosine {:.3}): retrained rather than fine-tuned", p.path, p.cosine));
        }
        for p in moved.iter().filter(|p| p.changed < 1.0 && p.changed > 0.0 && p.changed < 0.01) {
            out.push(format!("`{}`: only {} of its values differ", p.path, (p.changed * p.shape.iter().product::<usize>() as f64).round()));
        }
        for p in self.params.iter().filter(|p| p.shape_b.is_some()) {
            out.push(format!("`{}` changed shape: {:?} → {:?}", p.path, p.shape, p.shape_b.as_deref().unwrap_or_default()));
        }
        if !self.only_a.is_empty() {
            out.push(format!("only in A: {}", self.only_a.join(", ")));
        }
        if !self.only_b.is_empty() {
            out.push(format!("only in B: {}", self.only_b.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(params: &[(&str, &[f32])]) -> NamedWeights {
        NamedWeights { source: "t".into(), params: params.iter().map(|(p, v)| (p.to_string(), vec![v.len()], v.to_vec())).collect() }
    }

    #[test]
    fn should_measure_and_explain_the_difference() {
        let a = w(&[("fc.weight", &[3.0, 4.0]), ("fc.bias", &[1.0, 1.0])]);
        let b = w(&[("fc.weight", &[3.0, 4.0]), ("fc.bias", &[1.0, 2.0]), ("extra", &[0.0])]);
        let d = diff_weights(&a, &b);
        assert_eq!(d.params[0].changed, 0.0);
        let bias = &d.params[1];
        assert_eq!((bias.diff_norm, bias.max_abs, bias.changed), (1.0, 1.0, 0.5));
        assert!((bias.relative - 1.0 / 2f64.sqrt()).abs() < 1e-12);
        assert!((bias.cosine - 3.0 / (2f64.sqrt() * 5f64.sqrt())).abs() < 1e-12);
        assert_eq!(d.only_b, ["extra"]);
        let text = d.explain().join("\n");
        assert!(text.contains("identical: fc.weight") && text.contains("changed most: `fc.bias`") && text.contains("only in B: extra"), "{text}");
    }

    #[test]
    fn should_say_when_identical() {
        let a = w(&[("fc.weight", &[3.0, 4.0])]);
        assert!(diff_weights(&a, &a).identical());
        assert_eq!(diff_weights(&a, &a).explain(), ["the two sets of weights are bit-identical"]);
    }
}
