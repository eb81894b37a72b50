//! `owm predict`: a bundle's model on new records, written as CSV or JSON Lines, each naming the bundle.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use owm::train::{Predictions, Predictor};

use crate::cli::PredictArgs;
use crate::settings::bundle_dir;

/// `owm predict`.
pub fn run(args: PredictArgs) -> Result<ExitCode> {
    let (backend, identities) = super::open(&args.access)?;
    let predictor = Predictor::load(&bundle_dir(&args.bundle), backend, identities.as_ref())?;
    let Some(data) = &args.data else { return check(&predictor) };
    let predictions = predictor.predict_file(data)?;
    let json = args.json || args.out.as_ref().is_some_and(|p| p.extension().is_some_and(|e| e == "jsonl" || e == "json"));
    let text = if json { json_lines(&predictions)? } else { csv(&predictions) };
    match &args.out {
        Some(path) => {
            owm::core::write_atomic(path, text.as_bytes())?;
            let n = predictions.predictions.len();
            println!("{n} predictions of bundle {} written to {}", predictions.bundle_digest, path.display());
            if let Some(known) = agreement(&predictions) {
                println!("{known}");
            }
        }
        None => print!("{text}"),
    }
    for (column, n) in &predictions.imputed {
        eprintln!("note: {n} missing value(s) of `{column}` filled in as in training");
    }
    Ok(ExitCode::SUCCESS)
}

/// `record,label,p_CLASS…,known,bundle_digest` rows; CSV fields quoted where they need it.
fn csv(p: &Predictions) -> String {
    let quote = |s: &str| if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let mut out = String::from("record,label");
    for class in &p.classes {
        out.push(',');
        out.push_str(&quote(&format!("p_{class}")));
    }
    out.push_str(",known,bundle_digest\n");
    for row in &p.predictions {
        let _ = write!(out, "{},{}", quote(&row.record), quote(&row.label));
        for prob in &row.probabilities {
            let _ = write!(out, ",{prob}");
        }
        let _ = writeln!(out, ",{},{}", quote(row.known.as_deref().unwrap_or_default()), p.bundle_digest);
    }
    out
}

/// One JSON object per record, each with the bundle digest.
fn json_lines(p: &Predictions) -> Result<String> {
    let mut out = String::new();
    for row in &p.predictions {
        let mut value = serde_json::to_value(row)?;
        value["bundle_digest"] = p.bundle_digest.clone().into();
        out.push_str(&serde_json::to_string(&value)?);
        out.push('\n');
    }
    Ok(out)
}

/// How many predictions agree with the classes the file gives, when it gives any.
fn agreement(p: &Predictions) -> Option<String> {
    let known: Vec<_> = p.predictions.iter().filter_map(|r| r.known.as_ref().map(|k| k == &r.label)).collect();
    if known.is_empty() {
        return None;
    }
    let agree = known.iter().filter(|&&a| a).count();
    Some(format!("{agree} of the {} records with a known class agree with it ({:.4})", known.len(), agree as f64 / known.len() as f64))
}

/// `owm predict --check`: the stored example re-run; exit 3 when its outputs are not the stored ones.
fn check(predictor: &Predictor) -> Result<ExitCode> {
    let c = predictor.check()?;
    let digest = predictor.bundle_digest();
    if c.identical {
        println!("the stored example ({} records) gives its stored outputs bit for bit: bundle {digest}", c.records);
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "the stored example ({} records) differs from its stored outputs: largest probability difference {:.2e}, {} of {} labels the same (bundle {digest})",
            c.records, c.max_abs_diff, c.labels_agree, c.records
        );
        Ok(ExitCode::from(3))
    }
}
