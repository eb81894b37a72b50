//! One file per command: each takes its parsed arguments, calls the libraries and prints what it did.

mod bench;
mod diff;
mod encrypt;
mod eval;
mod export;
mod import;
mod inspect;
mod keys;
mod predict;
mod registry;
mod replay;
mod report;
mod schedule;
mod serve;
mod serve_model;
mod trace;
mod train;
mod verify;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::{Cli, Command};

/// Runs the command `cli` names; the exit code tells scripts what it found.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Train(args) => train::train(*args),
        Command::Resume(args) => train::resume(&args.run, args.device.as_deref(), args.token_file.as_deref(), &args.output),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Report(args) => report::run(&args.run),
        Command::Diff(args) => diff::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Encrypt(args) => encrypt::encrypt(args),
        Command::Decrypt(args) => encrypt::decrypt(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
        Command::Publish(args) => registry::publish(args),
        Command::Pull(args) => registry::pull(args),
        Command::List(args) => registry::list(args),
        Command::Lineage(args) => registry::lineage(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::Sign(args) => keys::sign(args),
        Command::Inspect(args) => inspect::run(&crate::settings::bundle_dir(&args.bundle)),
        Command::Schedule(args) => schedule::run(args),
        Command::Serve(args) => serve::run(&args.device, args.bind, &args.token_file),
        Command::ServeModel(args) => serve_model::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

/// The identities `--identity FILE` or `--passphrase-file FILE` name, if either is given.
fn identities(identity: Option<&Path>, passphrase_file: Option<&Path>) -> Result<Option<owm::share::Identities>> {
    Ok(match (identity, passphrase_file) {
        (Some(f), _) => Some(owm::share::Identities::from_file(f)?),
        (None, Some(p)) => Some(owm::share::Identities::passphrase(read_passphrase(p)?)),
        (None, None) => None,
    })
}

/// The backend `access` names (with its token) and the identities that open encrypted weights.
fn open(access: &crate::cli::ModelAccess) -> Result<(owm::core::BackendKind, Option<owm::share::Identities>)> {
    let backend = crate::settings::with_token(access.device.parse()?, access.token_file.as_deref())?;
    Ok((backend, weight_keys(&access.keys)?))
}

/// The identities a [`WeightKeys`](crate::cli::WeightKeys) flag group names, if any.
fn weight_keys(keys: &crate::cli::WeightKeys) -> Result<Option<owm::share::Identities>> {
    identities(keys.identity.as_deref(), keys.passphrase_file.as_deref())
}

/// The passphrase in `path`: its first line.
fn read_passphrase(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the passphrase file {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        bail!("the passphrase file {} is empty", path.display());
    }
    Ok(line)
}

/// The task's scores beyond accuracy and F1: probability scores, rankings against the baseline.
fn print_scores(e: &owm::eval::Evaluation) {
    if let Some(s) = &e.scores {
        println!("ROC AUC {:.4}  average precision {:.4}  log loss {:.4}", s.roc_auc, s.average_precision, s.log_loss);
    }
    if let Some(r) = &e.ranking {
        let line = |m: &owm::eval::RankingMetrics| {
            format!("NDCG@{k} {:.4}  HitRate@{k} {:.4}  Recall@{k} {:.4}  MAP@{k} {:.4}", m.ndcg, m.hit_rate, m.recall, m.map, k = m.k)
        };
        println!("ranking over {} users: {}", r.groups, line(&r.model));
        if let Some((name, m)) = &r.baseline {
            println!("{name} baseline: {}", line(m));
        }
    }
}
