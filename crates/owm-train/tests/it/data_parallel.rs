//! Training across ranks through the `Collective` seam, with ranks as threads (`ThreadGroup`): the same
//! arithmetic an MPI run performs, without a launcher. The MPI runs themselves are `crates/owm/tests/it/mpi.rs`.

use std::sync::Arc;

use owm_core::{Collective, Control, Result as CoreResult, ThreadGroup, TraceEvent, TraceSink};
use owm_models::ModelConfig;
use owm_optim::{AdamConfig, ConvergenceConfig, GaConfig, OptimizerConfig};
use owm_train::{ExperimentConfig, NamedWeights, RunReport, TraceConfig, TrainOptions, train_with};

/// The digits MLP (64-32-10), Adam, batch 64, 60 steps (two and a half epochs of the 1,438 training items).
fn adam_run() -> ExperimentConfig {
    ExperimentConfig {
        model: ModelConfig::Mlp { hidden: vec![32] },
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-2)),
        convergence: ConvergenceConfig::steps(60),
        trace: TraceConfig::minimal(),
        ..ExperimentConfig::default()
    }
}

/// `config` trained by `world` ranks, one thread each; every rank's report, rank 0 first.
fn run(config: &ExperimentConfig, world: usize, dir: &std::path::Path) -> Vec<RunReport> {
    run_with(config, world, dir, None, None)
}

/// [`run`], each rank stopping after `stop_at` steps, or resuming from `resume`.
fn run_with(config: &ExperimentConfig, world: usize, dir: &std::path::Path, stop_at: Option<usize>, resume: Option<&std::path::Path>) -> Vec<RunReport> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = ThreadGroup::new(world)
            .into_iter()
            .map(|member| {
                let member: Arc<dyn Collective> = Arc::new(member);
                scope.spawn(move || {
                    let mut stop = StopAt { at: stop_at.unwrap_or(usize::MAX), seen: 0 };
                    let options = TrainOptions { collective: Some(member), sinks: vec![&mut stop], resume: resume.map(Into::into), ..TrainOptions::default() };
                    train_with(config, dir, options).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Asks to stop after `at` steps.
struct StopAt {
    at: usize,
    seen: usize,
}

impl TraceSink for StopAt {
    fn on_event(&mut self, event: &TraceEvent) -> CoreResult<Control> {
        self.seen += usize::from(matches!(event, TraceEvent::Step(_)));
        Ok(if self.seen == self.at { Control::Stop } else { Control::Continue })
    }
}

fn largest_difference(a: &NamedWeights, b: &NamedWeights) -> f32 {
    assert_eq!(a.params.len(), b.params.len());
    a.params.iter().zip(&b.params).flat_map(|(x, y)| x.2.iter().zip(&y.2).map(|(p, q)| (p - q).abs())).fold(0.0, f32::max)
}

/// Data-parallel Adam on 2 and 4 ranks: the same global batches as one process, so the weights agree with the
/// single-process run to 1e-5 (only the order of the f32 sums in a gradient differs: each shard's mean is
/// taken over fewer items, then the shards are added in f64); every rank ends with the same weights, and a
/// repeat with the same rank count is bit-identical.
#[test]
fn data_parallel_adam_should_match_one_process_and_repeat_bit_for_bit() {
    let dir = owm_testkit::tempdir();
    let config = adam_run();
    let alone = run(&config, 1, &dir.path().join("alone")).remove(0);
    let alone_weights = NamedWeights::load(&alone.bundle_dir).unwrap();
    for world in [2, 4] {
        let reports = run(&config, world, &dir.path().join(format!("ranks-{world}")));
        let digests: Vec<&str> = reports.iter().map(|r| r.manifest.weights_digest.as_str()).collect();
        assert!(digests.iter().all(|d| *d == digests[0]), "{world} ranks ended with different weights: {digests:?}");
        assert_eq!(reports[0].training.steps, 60);
        let weights = NamedWeights::load(&reports[0].bundle_dir).unwrap();
        let diff = largest_difference(&weights, &alone_weights);
        eprintln!("{world} ranks: largest weight difference {diff:e}");
        assert!(diff <= 1e-5, "{world} ranks against one process: largest weight difference {diff}");
        let again = run(&config, world, &dir.path().join(format!("again-{world}"))).remove(0);
        assert_eq!(again.manifest.weights_digest, reports[0].manifest.weights_digest, "{world} ranks, repeated");
        // Rank 0 wrote the run; the trace says how many processes trained it.
        let trace = std::fs::read_to_string(reports[0].run_dir.join(owm_train::files::TRACE)).unwrap();
        assert!(trace.lines().next().unwrap().contains(&format!("\"processes\":{world}")), "the run_started event records {world} processes");
    }
}

/// A run checkpointed on 2 ranks resumes on 4 (the checkpoint holds the global data position) to the weights
/// of the uninterrupted single-process run, within 1e-5.
#[test]
fn a_checkpoint_written_on_2_ranks_should_resume_on_4() {
    let dir = owm_testkit::tempdir();
    let config = adam_run();
    let alone = NamedWeights::load(&run(&config, 1, &dir.path().join("alone"))[0].bundle_dir).unwrap();
    let checkpointed = ExperimentConfig { trace: TraceConfig { checkpoint_every: 25, ..config.trace.clone() }, ..config.clone() };
    let cut = run_with(&checkpointed, 2, &dir.path().join("cut"), Some(25), None);
    assert_eq!(cut[0].training.steps, 25);
    let checkpoint = dir.path().join("cut").join(owm_train::files::CHECKPOINT);
    let resumed = run_with(&config, 4, &dir.path().join("resumed"), None, Some(&checkpoint));
    assert_eq!(resumed[0].training.steps, 60);
    let diff = largest_difference(&NamedWeights::load(&resumed[0].bundle_dir).unwrap(), &alone);
    assert!(diff <= 1e-5, "resumed on 4 ranks against one process: largest weight difference {diff}");
}

/// A genetic algorithm whose population is evaluated by 2 ranks gives the weights of one process, bit for bit.
#[test]
fn ga_across_ranks_should_give_the_single_process_weights() {
    let dir = owm_testkit::tempdir();
    let config = ExperimentConfig {
        optimizer: OptimizerConfig::Ga(GaConfig { population: 12, ..GaConfig::default() }),
        convergence: ConvergenceConfig::steps(5),
        ..adam_run()
    };
    let alone = run(&config, 1, &dir.path().join("alone")).remove(0);
    let ranks = run(&config, 2, &dir.path().join("ranks"));
    assert_eq!(ranks[0].manifest.weights_digest, alone.manifest.weights_digest);
    assert_eq!(ranks[1].manifest.weights_digest, alone.manifest.weights_digest);
}

/// Differentially private training stays in one process (its accountant assumes one Poisson sample per step).
#[test]
fn private_training_across_ranks_should_be_refused() {
    let dir = owm_testkit::tempdir();
    let mut config = adam_run();
    config.privacy = Some(owm_train::PrivacyConfig::epsilon(1.0));
    config.normalize = false;
    let member: Arc<dyn Collective> = Arc::new(ThreadGroup::new(2).remove(0));
    let err = train_with(&config, dir.path(), TrainOptions { collective: Some(member), ..TrainOptions::default() }).unwrap_err().to_string();
    assert!(err.contains("one process"), "{err}");
}
