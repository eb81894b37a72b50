//! `owm eval`: verify a bundle, rebuild its test split (or read another data folder) and score it again
//! beside the accuracy it recorded.

use std::process::ExitCode;

use anyhow::{Context, Result};
use owm::train::ExperimentConfig;

use crate::cli::EvalArgs;
use crate::settings::{bundle_dir, data_from};

/// `owm eval`.
pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let (backend, identities) = super::open(&args.access)?;
    let identities = identities.as_ref();
    let bundle = &bundle_dir(&args.bundle);
    let data_dir = args.data_dir;
    let data = match data_dir {
        None => None,
        Some(dir) => {
            let experiment: ExperimentConfig = serde_json::from_value(owm::share::verify_bundle(bundle, None)?.manifest.experiment)
                .context("bundle manifest has no usable experiment section")?;
            Some(data_from(experiment.data, dir)?)
        }
    };
    let result = match owm::train::evaluate_bundle_with(bundle, backend.clone(), data, identities) {
        Err(owm::train::Error::Model(owm::models::Error::Custom(name))) => return user_model(bundle, &name, identities),
        result => result?,
    };
    let r = &result.report.report;
    println!("bundle {} verified: {} tensors, weights digest {}", bundle.display(), result.bundle.tensors.len(), result.bundle.manifest.weights_digest);
    println!("test accuracy {:.4}  macro F1 {:.4}  on {} items ({})", r.accuracy, r.macro_f1, r.total, backend);
    super::print_scores(&result.report);
    let trained_on = result.bundle.manifest.backend.as_str();
    match result.recorded.as_ref().map(|e| &e.report) {
        Some(rec) if trained_on != backend.name() => {
            println!("trained on {trained_on}, evaluated on {backend}: recorded accuracy {:.4} (kernels may round differently)", rec.accuracy)
        }
        Some(rec) if result.same_test_data && rec.accuracy == r.accuracy => {
            println!("matches the accuracy recorded at training time ({:.4})", rec.accuracy)
        }
        Some(rec) if result.same_test_data => {
            println!("differs from the accuracy recorded at training time ({:.4})", rec.accuracy);
            return Ok(ExitCode::from(3));
        }
        Some(rec) => println!("other test data than at training time (recorded accuracy {:.4})", rec.accuracy),
        None => println!("the manifest records no evaluation"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A bundle of a user's model: verified, its recorded evaluation shown; only the user's code can build the
/// module to evaluate it again.
fn user_model(bundle: &std::path::Path, name: &str, identities: Option<&owm::share::Identities>) -> Result<ExitCode> {
    let loaded = owm::share::load_bundle_with(bundle, identities)?;
    let m = &loaded.manifest;
    println!("bundle {} verified: {} tensors, weights digest {}", bundle.display(), loaded.tensors.len(), m.weights_digest);
    if let (Some(accuracy), Some(f1)) = (m.evaluation["accuracy"].as_f64(), m.evaluation["macro_f1"].as_f64()) {
        println!("recorded test accuracy {accuracy:.4}  macro F1 {f1:.4}");
    }
    println!(
        "model `{name}` is user code, recorded by its module tree and parameter shapes: owm cannot build it to evaluate again; \
         its own program can, with owm_train::evaluate_bundle_into"
    );
    Ok(ExitCode::SUCCESS)
}
