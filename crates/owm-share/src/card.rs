//! What a bundle tells a person: a model card (`README.md` with YAML front matter, as on the Hugging Face
//! Hub) generated from the manifest, and the class it reaches under the Model Openness Framework.
//!
//! ## References
//!
//! White et al., "The Model Openness Framework: Promoting Completeness and Openness for Reproducibility,
//! Transparency, and Usability in Artificial Intelligence", arXiv:2403.13784, 2024.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::Manifest;

/// File name of the model card inside a bundle.
pub const CARD_FILE: &str = "README.md";

/// SPDX licence identifiers the Model Openness Framework accepts as open (code, weights and data licences).
pub const OPEN_LICENSES: [&str; 12] = [
    "MIT",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "MPL-2.0",
    "GPL-3.0-only",
    "LGPL-3.0-only",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDLA-Permissive-2.0",
];

/// A class of the Model Openness Framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MofClass {
    /// Class I, open science: class II plus datasets, intermediate parameters and training logs.
    OpenScience,
    /// Class II, open tooling: class III plus training, inference and evaluation code and evaluation data.
    OpenTooling,
    /// Class III, open model: architecture, final parameters, model card, evaluation results and data card,
    /// under open licences.
    OpenModel,
}

impl std::fmt::Display for MofClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MofClass::OpenModel => "Class III (open model)",
            MofClass::OpenTooling => "Class II (open tooling)",
            MofClass::OpenScience => "Class I (open science)",
        })
    }
}

/// The openness a bundle reaches: the highest class whose components are all present under open licences,
/// and what is missing for each class above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Openness {
    /// The class reached, if any.
    pub class: Option<MofClass>,
    /// Components missing for class III, II and I, in that order (each list cumulative).
    pub missing: Vec<(MofClass, Vec<String>)>,
}

/// Whether an SPDX expression is made only of open licences (`MIT OR Apache-2.0` is).
fn is_open(expr: Option<&String>) -> bool {
    expr.is_some_and(|e| {
        let ids: Vec<&str> = e.split([' ', '(', ')']).filter(|t| !t.is_empty() && !["OR", "AND", "WITH"].contains(t)).collect();
        !ids.is_empty() && ids.iter().all(|id| OPEN_LICENSES.contains(id))
    })
}

/// The openness of the bundle `manifest` describes; `files` are the bundle's files besides weights and manifest.
///
/// OWM maps the framework's components to what a bundle holds: architecture and all code are OWM's own
/// (open under the `code` licence) with the model config; final parameters are the weights (`weights`
/// licence); the model card is [`CARD_FILE`]; evaluation results and the data card are the manifest's
/// `evaluation` and `dataset` sections; evaluation data and datasets need an open `data` licence;
/// intermediate parameters are a checkpoint file in the bundle; training logs are the trace.
pub fn openness(manifest: &Manifest) -> Openness {
    let has_file = |prefix: &str| manifest.files.keys().any(|f| f.starts_with(prefix));
    let open_code = is_open(manifest.licenses.get("code"));
    let open_weights = is_open(manifest.licenses.get("weights"));
    let open_data = is_open(manifest.licenses.get("data"));
    let check = |items: &[(&str, bool)]| items.iter().filter(|(_, ok)| !ok).map(|(n, _)| n.to_string()).collect::<Vec<_>>();
    let class3 = check(&[
        ("model architecture (model config, open code licence)", !manifest.model.is_null() && open_code),
        ("final parameters under an open `weights` licence", !manifest.tensors.is_empty() && open_weights),
        ("model card", has_file(CARD_FILE)),
        ("evaluation results", !manifest.evaluation.is_null()),
        ("data card (dataset section)", !manifest.dataset.is_null()),
    ]);
    let class2 = check(&[
        ("training, inference and evaluation code (open code licence)", open_code && !manifest.experiment.is_null()),
        ("evaluation data under an open `data` licence", open_data),
    ]);
    let class1 = check(&[
        ("datasets under an open `data` licence", open_data),
        ("intermediate parameters (a checkpoint in the bundle)", has_file("checkpoint")),
        ("training logs (the trace)", manifest.trace.is_some()),
    ]);
    let cumulative = |parts: &[&Vec<String>]| parts.iter().flat_map(|p| p.iter().cloned()).collect::<Vec<_>>();
    let missing = vec![
        (MofClass::OpenModel, class3.clone()),
        (MofClass::OpenTooling, cumulative(&[&class3, &class2])),
        (MofClass::OpenScience, cumulative(&[&class3, &class2, &class1])),
    ];
    let class = missing.iter().rev().find(|(_, m)| m.is_empty()).map(|(c, _)| *c);
    Openness { class, missing }
}

/// The model card of `manifest`: YAML front matter (licence, library, tags, metrics, datasets, base models)
/// and a Markdown body (what the model is, how it was trained, how it did, how to verify it), generated from
/// the manifest alone.
pub fn model_card(manifest: &Manifest, name: &str) -> String {
    let q = |s: &str| owm_core::json::to_string(s);
    let model = manifest.model.get("kind").and_then(|k| k.as_str()).unwrap_or("model");
    let dataset = manifest.dataset.get("name").and_then(|k| k.as_str()).unwrap_or("unknown");
    let mut y = String::from("---\n");
    let _ = writeln!(y, "license: {}", q(manifest.licenses.get("weights").map_or("unspecified", String::as_str)));
    let _ = writeln!(y, "library_name: owm\ntags:\n  - owm\n  - burn\n  - {}", q(model));
    let _ = writeln!(y, "datasets:\n  - {}", q(dataset));
    if !manifest.lineage.is_empty() {
        let _ = writeln!(y, "base_model:");
        for b in &manifest.lineage {
            let _ = writeln!(y, "  - {}", q(&b.name));
        }
    }
    let metrics: Vec<(&str, f64)> =
        ["accuracy", "macro_f1", "weighted_f1"].iter().filter_map(|m| manifest.evaluation.get(*m).and_then(|v| v.as_f64()).map(|v| (*m, v))).collect();
    if !metrics.is_empty() {
        let _ = writeln!(
            y,
            "model-index:\n  - name: {}\n    results:\n      - task:\n          type: classification\n        dataset:\n          name: {}\n          type: {}\n        metrics:",
            q(name),
            q(dataset),
            q(dataset)
        );
        for (m, v) in &metrics {
            let _ = writeln!(y, "          - type: {m}\n            value: {v}");
        }
    }
    y.push_str("---\n\n");
    let _ = writeln!(y, "# {name}\n");
    let _ = writeln!(
        y,
        "A `{model}` trained with OWM {} (Burn {}) on `{dataset}`, seed {}, backend `{}`.\n",
        manifest.owm_version,
        manifest.code.get("burn").map_or("?", String::as_str),
        manifest.seed,
        manifest.backend
    );
    let _ = writeln!(y, "## Training\n\n- optimiser: `{}`\n- training: `{}`\n", manifest.optimizer, manifest.training);
    if !metrics.is_empty() {
        let _ = writeln!(y, "## Evaluation (held-out split)\n\n| metric | value |\n|---|---|");
        for (m, v) in &metrics {
            let _ = writeln!(y, "| {m} | {v:.4} |");
        }
        y.push('\n');
    }
    if let Some(eps) = manifest.privacy.get("epsilon") {
        let field = |k: &str| manifest.privacy.get(k).map_or_else(|| "?".to_string(), |v| v.to_string());
        let _ = writeln!(
            y,
            "## Privacy\n\nTrained with {}-level differential privacy ({}, {} sampling at rate {}): ε = {eps}, δ = {} ({} accountant, order {}), over {} steps with clip norm {} and noise multiplier {}. The guarantee covers the weights' training on the training split; preprocessing fitted on that split (vocabularies, scaling) is outside it.\n",
            field("unit").trim_matches('"'),
            field("mechanism").trim_matches('"'),
            field("sampling").trim_matches('"'),
            field("sampling_rate"),
            field("delta"),
            field("accountant").trim_matches('"'),
            field("order"),
            field("steps"),
            field("clip_norm"),
            field("noise_multiplier"),
        );
        if let Some(n) = manifest.privacy.get("normalizer").filter(|n| n.is_object()) {
            let field = |k: &str| match n.get(k) {
                Some(serde_json::Value::Number(x)) => x.as_f64().map_or_else(|| x.to_string(), |x| format!("{x:.4}")),
                Some(v) => v.to_string().trim_matches('"').to_string(),
                None => "?".to_string(),
            };
            let text = if field("estimate") == "bounds" {
                format!("The inputs were scaled to [-1, 1] from public bounds `{}`, reading nothing of the training data.\n", field("bounds"))
            } else {
                format!(
                    "The inputs were normalised inside the guarantee: every value clamped into public bounds `{}`, the `{}` estimates released with Gaussian noise (multiplier {}), spending ε = {} on their own; the training spent ε = {} on its own, and the accountant composed both into the ε above.\n",
                    field("bounds"),
                    field("estimate"),
                    field("noise_multiplier"),
                    field("epsilon"),
                    field("training_epsilon"),
                )
            };
            let _ = writeln!(y, "{text}");
        }
    }
    let o = openness(manifest);
    let _ = writeln!(y, "## Openness\n\nModel Openness Framework: {}.", o.class.map_or_else(|| "no class reached yet".to_string(), |c| c.to_string()));
    if let Some((class, missing)) = o.missing.iter().find(|(_, m)| !m.is_empty()) {
        let _ = writeln!(y, "Missing for {class}: {}.", missing.join("; "));
    }
    let _ = writeln!(
        y,
        "\n## Verify\n\nWeights digest `{}`. Check every digest (and a signature) with `owm verify BUNDLE [--key PUB]`; the manifest's `bundle_digest` binds every section of `manifest.json`, each tensor and each file listed there, this card included.",
        manifest.weights_digest
    );
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let mut m = Manifest::new(1);
        m.model = serde_json::json!({"kind": "mlp"});
        m.experiment = serde_json::json!({});
        m.dataset = serde_json::json!({"name": "digits"});
        m.evaluation = serde_json::json!({"accuracy": 0.97, "macro_f1": 0.96});
        m.tensors.insert("w".into(), crate::TensorEntry { shape: vec![1], dtype: "F32".into(), sha256: "x".into(), owner: String::new() });
        m.files.insert(CARD_FILE.into(), crate::FileEntry { sha256: "y".into(), bytes: 1 });
        m
    }

    #[test]
    fn openness_should_rise_with_open_licences_and_files() {
        let mut m = manifest();
        let o = openness(&m);
        assert_eq!(o.class, None, "no weights licence yet");
        assert_eq!(o.missing[0].1, ["final parameters under an open `weights` licence"]);
        m.licenses.insert("weights".into(), "Apache-2.0".into());
        assert_eq!(openness(&m).class, Some(MofClass::OpenModel));
        m.licenses.insert("data".into(), "CC-BY-4.0".into());
        assert_eq!(openness(&m).class, Some(MofClass::OpenTooling));
        m.trace = Some(crate::TraceRef { file: "trace.jsonl".into(), sha256: "z".into(), events: 1 });
        m.files.insert("checkpoint.json".into(), crate::FileEntry { sha256: "c".into(), bytes: 1 });
        assert_eq!(openness(&m).class, Some(MofClass::OpenScience));
        m.licenses.insert("weights".into(), "LicenseRef-proprietary".into());
        assert_eq!(openness(&m).class, None);
        assert!(is_open(Some(&"MIT OR Apache-2.0".to_string())));
    }

    #[test]
    fn the_card_should_carry_front_matter_and_metrics() {
        let mut m = manifest();
        m.licenses.insert("weights".into(), "CC-BY-4.0".into());
        let card = model_card(&m, "digits-mlp");
        assert!(card.starts_with("---\nlicense: \"CC-BY-4.0\"\nlibrary_name: owm\n"), "{card}");
        assert!(card.contains("          - type: accuracy\n            value: 0.97"), "{card}");
        assert!(card.contains("Class III (open model)"), "{card}");
    }
}
