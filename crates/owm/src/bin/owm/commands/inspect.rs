//! `owm inspect`: a verified bundle's provenance, openness class and tensors.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

/// `owm inspect`.
pub fn run(bundle: &Path) -> Result<ExitCode> {
    let b = owm::share::load_bundle(bundle)?;
    let m = &b.manifest;
    println!("bundle {} ({}, written by owm {})", bundle.display(), m.format, m.owm_version);
    println!("verified: {} tensors match their SHA-256; weights digest {}", m.tensors.len(), m.weights_digest);
    println!("seed {}  backend {}", m.seed, m.backend);
    let openness = owm::share::openness(m);
    println!("openness: {}", openness.class.map_or_else(|| "no Model Openness Framework class yet".to_string(), |c| c.to_string()));
    if let Some((class, missing)) = openness.missing.iter().find(|(_, m)| !m.is_empty()) {
        println!("  missing for {class}: {}", missing.join("; "));
    }
    println!("model {}", m.model);
    println!("optimizer {}", m.optimizer);
    if let Some(t) = &m.trace {
        println!("trace {} ({} events, sha256 {})", t.file, t.events, t.sha256);
    }
    println!("dataset {}", m.dataset);
    println!("training {}", m.training);
    if let Some(acc) = m.evaluation.get("accuracy") {
        println!("recorded test accuracy {acc}  macro F1 {}", m.evaluation["macro_f1"]);
    }
    println!("tensors:");
    for (path, t) in &m.tensors {
        println!("  {path:<20} {:<14} {}", format!("{:?}", t.shape), &t.sha256[..16]);
    }
    Ok(ExitCode::SUCCESS)
}
