//! `owm train` and `owm resume`: a run from its experiment config, alone or across the ranks `mpirun`
//! launched, printed as text or one JSON line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use owm::core::BackendKind;
use owm::train::{ExperimentConfig, RunReport, TrainOptions, files, train_with};

use crate::cli::{OutputArgs, TrainArgs};
use crate::settings::{experiment, with_token};

/// `owm train`.
pub fn train(args: TrainArgs) -> Result<ExitCode> {
    if let Some(run) = &args.resume {
        eprintln!("owm: `owm train --resume RUN` is now `owm resume RUN`");
        return resume(run, args.run.device.as_deref(), args.run.token_file.as_deref(), &args.run.output);
    }
    let config = experiment(&args)?;
    let ranks = Ranks::launched()?;
    let run_dir = match &args.run.out {
        Some(dir) => dir.clone(),
        None => free_dir(&Path::new("runs").join(format!("{}-s{}", config.name, config.seed))),
    };
    let (rank, processes) = ranks.place().unwrap_or((0, 1));
    if rank == 0 {
        let across = if processes > 1 { format!(" across {processes} processes") } else { String::new() };
        eprintln!(
            "owm: training {} on {} with {} ({}){across}, seed {} -> {}",
            config.model.name(),
            config.data.name(),
            config.optimizer_names(),
            config.backend,
            config.seed,
            run_dir.display()
        );
    }
    let ids = super::identities(args.run.identity.as_deref(), args.run.passphrase_file.as_deref())?;
    let options = TrainOptions { progress: !args.run.output.quiet, identities: ids.as_ref(), collective: ranks.collective(), ..TrainOptions::default() };
    let report = train_with(&config, &run_dir, options)?;
    ranks.finish();
    print_run(&report, &args.run.output, &ranks)
}

/// `owm resume`: continues a killed run from its last checkpoint, or from the start when it died before its
/// first one.
pub fn resume(run: &Path, device: Option<&str>, token_file: Option<&Path>, output: &OutputArgs) -> Result<ExitCode> {
    let mut config = ExperimentConfig::load(&run.join(files::CONFIG)).with_context(|| format!("{} is not a run folder that can be resumed", run.display()))?;
    if let Some(device) = device {
        // The same device behind another address (a restarted server); any other device would round differently.
        config.backend = match (config.backend, device.parse::<BackendKind>()?) {
            (BackendKind::Remote(_), moved @ BackendKind::Remote(_)) => moved,
            (own, other) => bail!("a run resumes on its own device ({own}); --device only moves a remote run to another server, not to {other}"),
        };
    }
    config.backend = with_token(config.backend, token_file)?;
    if run.join(files::BUNDLE).join("manifest.json").is_file() {
        bail!("{} is complete (it has its bundle); nothing to resume", run.display());
    }
    let checkpoint = run.join(files::CHECKPOINT);
    let ranks = Ranks::launched()?;
    let resume = if checkpoint.is_file() {
        let step = owm::train::Checkpoint::load(&checkpoint)?.total_steps;
        eprintln!("owm: resuming {} from its checkpoint at step {step}", run.display());
        Some(checkpoint)
    } else {
        eprintln!("owm: {} has no checkpoint yet; training it again from the start", run.display());
        let trace = run.join(files::TRACE);
        // Rank 0 alone writes the run folder.
        if trace.exists() && ranks.place().is_none_or(|(rank, _)| rank == 0) {
            std::fs::remove_file(&trace).with_context(|| format!("removing {}", trace.display()))?;
        }
        None
    };
    let report = train_with(&config, run, TrainOptions { progress: !output.quiet, resume, collective: ranks.collective(), ..TrainOptions::default() })?;
    ranks.finish();
    print_run(&report, output, &ranks)
}

/// The ranks `mpirun` launched this process among (with the `mpi` feature), or this process alone.
pub(super) struct Ranks {
    #[cfg(feature = "mpi")]
    mpi: Option<std::sync::Arc<owm::train::mpi::Mpi>>,
}

impl Ranks {
    /// MPI's ranks when an MPI launcher started this process; alone otherwise. Without the `mpi` feature a
    /// launch by `mpirun` is refused: every process would train the whole run into the same folder.
    pub(super) fn launched() -> Result<Self> {
        #[cfg(feature = "mpi")]
        {
            let mpi = owm::train::mpi::launched().then(owm::train::mpi::Mpi::init).transpose()?.map(std::sync::Arc::new);
            Ok(Self { mpi })
        }
        #[cfg(not(feature = "mpi"))]
        {
            if owm::train::mpi::launched() {
                bail!("started by an MPI launcher, but this owm was built without the `mpi` feature: rebuild with `--features mpi` (docs/scaling.md)");
            }
            Ok(Self {})
        }
    }

    pub(super) fn collective(&self) -> Option<std::sync::Arc<dyn owm::core::Collective>> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return Some(mpi.clone());
        }
        None
    }

    /// (rank, processes), when there are several.
    fn place(&self) -> Option<(usize, usize)> {
        self.collective().filter(|c| c.world() > 1).map(|c| (c.rank(), c.world()))
    }

    /// Seconds this rank spent in all-reduces (MPI runs).
    fn all_reduce_seconds(&self) -> Option<f64> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return Some(mpi.all_reduce_seconds());
        }
        None
    }

    /// Finalises MPI after a successful run.
    pub(super) fn finish(&self) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.finish();
        }
    }
}

fn print_run(report: &RunReport, output: &OutputArgs, ranks: &Ranks) -> Result<ExitCode> {
    let e = &report.evaluation;
    let code = if report.training.stop_reason.is_failure() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    let (json, place) = (output.json, ranks.place());
    if let Some((rank, processes)) = place.filter(|&(rank, _)| rank > 0 && !json) {
        // The other ranks' run folders were scratch; rank 0 prints the run.
        println!("rank {rank} of {processes}: weights digest {}", report.manifest.weights_digest);
        return Ok(code);
    }
    if json {
        let mut summary = serde_json::json!({
            "accuracy": e.report.accuracy,
            "macro_f1": e.report.macro_f1,
            "test_items": e.report.total,
            "steps": report.training.steps,
            "epochs": report.training.epochs,
            "train_items": report.training.train_items,
            "final_train_loss": report.training.final_train_loss,
            "stop_reason": report.training.stop_reason.to_string(),
            "seconds": report.seconds,
            "train_seconds": report.train_seconds,
            "weights_digest": report.manifest.weights_digest,
            "peak_rss_bytes": peak_rss_bytes(),
            "run_dir": report.run_dir,
            "bundle_dir": report.bundle_dir,
        });
        if let Some((rank, processes)) = place {
            summary["rank"] = serde_json::json!(rank);
            summary["processes"] = serde_json::json!(processes);
            summary["all_reduce_seconds"] = serde_json::json!(ranks.all_reduce_seconds());
        }
        println!("{summary}");
        return Ok(code);
    }
    for (i, p) in report.training.phases.iter().enumerate() {
        println!("phase {} {}: {} steps, {} evaluations, stopped: {}", i + 1, p.optimizer, p.steps, p.evaluations, p.stop_reason);
    }
    println!("stopped: {}", report.training.stop_reason);
    println!(
        "test accuracy {:.4}  macro F1 {:.4}  ({} items, {} steps, {:.1} s, of which training {:.1} s)",
        e.report.accuracy, e.report.macro_f1, e.report.total, report.training.steps, report.seconds, report.train_seconds
    );
    super::print_scores(e);
    if let Some(p) = &report.privacy {
        println!(
            "privacy: ε = {:.4}, δ = {} (DP-SGD, RDP accountant; {} steps at sampling rate {:.5}, clip {}, noise multiplier {:.4})",
            p.epsilon, p.delta, p.steps, p.sampling_rate, p.clip_norm, p.noise_multiplier
        );
        match &p.normalizer {
            Some(n) if n.releases == 0 => println!("privacy: inputs scaled to [-1, 1] from public bounds {}, spending nothing", n.bounds),
            Some(n) => println!(
                "privacy: of which the normaliser's {} estimates (bounds {}, noise multiplier {:.4}) ε = {:.4} alone, training ε = {:.4} alone, composed by the accountant",
                n.estimate, n.bounds, n.noise_multiplier, n.epsilon, n.training_epsilon
            ),
            None => {}
        }
    }
    if let Some(t) = &report.transfer {
        println!("transfer from {}: {} (transfer.md)", t.source, t.summary());
    }
    println!("weights digest {}", report.manifest.weights_digest);
    println!("run folder {}  (report.html, trace.jsonl, loss.svg, update_ratio.svg, evaluation.md)", report.run_dir.display());
    println!("bundle {}", report.bundle_dir.display());
    Ok(code)
}

/// This process's peak resident memory (`VmHWM`, the kernel's high-water mark that `getrusage` reports as
/// `ru_maxrss`), where `/proc` has it.
pub(super) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

/// `base`, or `base-2`, `base-3`, ... whichever does not exist yet.
#[allow(clippy::expect_used, reason = "an endless sequence of names has an unused one")]
fn free_dir(base: &Path) -> PathBuf {
    std::iter::once(base.to_path_buf())
        .chain((2..).map(|i| PathBuf::from(format!("{}-{i}", base.display()))))
        .find(|p| !p.exists())
        .expect("an unused name exists")
}
