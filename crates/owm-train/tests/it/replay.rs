//! `replay` reproduces a seeded CPU run record for record, and finds where an altered seed, data or weight
//! makes a run differ: at the right step and parameter.

use owm_core::{Rng, TraceEvent, WeightsAt};
use owm_data::{DataConfig, DataSource, encode_idx};
use owm_models::ModelConfig;
use owm_optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm_train::{Checkpoint, ExperimentConfig, ReplayOptions, TrainOptions, files, replay, train, train_with};

fn small(epochs: u64) -> ExperimentConfig {
    ExperimentConfig {
        model: ModelConfig::Mlp { hidden: vec![16] },
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-2)),
        convergence: ConvergenceConfig::epochs(epochs),
        ..ExperimentConfig::default()
    }
}

#[test]
fn a_seeded_cpu_run_should_replay_bit_for_bit() {
    let dir = owm_testkit::tempdir();
    let mut config = small(5);
    config.trace.digest_every = 50;
    let run = train(&config, &dir.path().join("run"), false).unwrap();
    let report = replay(&run.run_dir, ReplayOptions::default()).unwrap();
    assert!(report.exact && report.complete);
    assert_eq!(report.divergence, None);
    assert_eq!(report.bundle_matches, Some(true));
    assert_eq!(report.steps, run.training.steps);
    // Initial, 4 periodic, final: 6 records of 4 parameters.
    assert_eq!(report.digests, 6 * 4);
    let recorded = owm_trace::read_trace(run.run_dir.join(files::TRACE)).unwrap();
    assert_eq!(report.events, recorded.events.len() as u64);
}

#[test]
fn another_seed_should_diverge_at_the_initial_weights() {
    let dir = owm_testkit::tempdir();
    let run = train(&small(1), &dir.path().join("run"), false).unwrap();
    let report = replay(&run.run_dir, ReplayOptions { seed: Some(7), ..ReplayOptions::default() }).unwrap();
    let d = report.divergence.expect("a different seed diverges");
    assert_eq!((d.step, d.path.as_deref(), d.what.as_str()), (0, Some("layers.0.weight"), "init seed"), "{d}");
}

/// MNIST-format files of `n` random 28×28 training images (and 20 test images).
fn write_mnist(dir: &std::path::Path, n: usize) -> Vec<u8> {
    let mut rng = Rng::new(5);
    let mut pixels = |count: usize| (0..count * 784).map(|_| (rng.next_u64() % 256) as u8).collect::<Vec<u8>>();
    let (train, test) = (pixels(n), pixels(20));
    let labels = |count: usize| (0..count).map(|i| (i % 10) as u8).collect::<Vec<u8>>();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte"), encode_idx(&[n, 28, 28], &train)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), encode_idx(&[n], &labels(n))).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), encode_idx(&[20, 28, 28], &test)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), encode_idx(&[20], &labels(20))).unwrap();
    train
}

#[test]
fn altered_data_should_diverge_at_the_first_step_that_reads_the_altered_item() {
    let dir = owm_testkit::tempdir();
    let data = dir.path().join("mnist");
    let pixels = write_mnist(&data, 120);
    let config = ExperimentConfig { data: DataConfig::new(DataSource::Mnist { dir: data.clone() }), normalize: false, batch_size: 10, ..small(2) };
    let run = train(&config, &dir.path().join("run"), false).unwrap();

    // Alter one pixel of training item 57 in a copy of the data.
    let altered = dir.path().join("altered");
    let mut changed = pixels.clone();
    changed[57 * 784 + 400] ^= 0xff;
    write_mnist(&altered, 120);
    std::fs::write(altered.join("train-images-idx3-ubyte"), encode_idx(&[120, 28, 28], &changed)).unwrap();
    // Item 57 is first read by the batch that holds its position in epoch 1's seeded order.
    let order = Rng::derived(config.seed, "shuffle/epoch-1").permutation(120);
    let expected_step = order.iter().position(|&i| i == 57).unwrap() as u64 / 10 + 1;

    let options = ReplayOptions { data: Some(DataConfig::new(DataSource::Mnist { dir: altered })), ..ReplayOptions::default() };
    let d = replay(&run.run_dir, options).unwrap().divergence.expect("altered data diverges");
    assert_eq!(d.step, expected_step, "{d}");
    // The batch (its indices) is the same; what it computes is not: the first parameter's gradient differs.
    assert_eq!((d.path.as_deref(), d.what.as_str()), (Some("layers.0.weight"), "grad_norm"), "{d}");
    assert_eq!(replay(&run.run_dir, ReplayOptions::default()).unwrap().divergence, None);
}

#[test]
fn a_consistently_forged_checkpoint_should_be_caught_at_its_step_and_layer() {
    let dir = owm_testkit::tempdir();
    let mut config = small(3);
    config.trace.checkpoint_every = 60;
    let run_dir = dir.path().join("run");
    let whole = train(&config, &run_dir, false).unwrap();
    // 3 epochs of ceil(1293 / 32) = 41 steps (the training split less its 10% validation).
    assert_eq!(whole.training.steps, 123);
    // Forge: change one weight of layers.1.weight in the step-120 checkpoint and the trace's digest of it,
    // cut the bundle away, and let the run continue from the forgery.
    let checkpoint_path = run_dir.join(files::CHECKPOINT);
    let mut c = Checkpoint::load(&checkpoint_path).unwrap();
    assert_eq!(c.total_steps, 120);
    let offset = 64 * 16 + 16 + 3; // layers.0.weight (64×16), layers.0.bias (16), then the 4th of layers.1.weight
    c.weights[offset] += 0.25;
    std::fs::write(&checkpoint_path, serde_json::to_string(&c).unwrap()).unwrap();
    let metas: Vec<_> = whole.manifest.tensors.iter().map(|(p, t)| owm_core::ParamMeta { path: p.clone(), shape: t.shape.clone() }).collect();
    let order = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"];
    let metas: Vec<_> = order.iter().map(|p| metas.iter().find(|m| m.path == *p).unwrap().clone()).collect();
    let forged = owm_train::host_digests(&metas, &c.weights).unwrap();
    let trace_path = run_dir.join(files::TRACE);
    let text = std::fs::read_to_string(&trace_path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|line| match serde_json::from_str::<TraceEvent>(line).unwrap() {
            TraceEvent::Weights(mut w) if w.at == WeightsAt::Checkpoint && w.step == 120 => {
                w.digests = forged.clone();
                serde_json::to_string(&TraceEvent::Weights(w)).unwrap()
            }
            _ => line.to_string(),
        })
        .collect();
    std::fs::write(&trace_path, lines.join("\n") + "\n").unwrap();
    std::fs::remove_dir_all(run_dir.join(files::BUNDLE)).unwrap();
    let resumed = train_with(&config, &run_dir, TrainOptions { resume: Some(checkpoint_path), ..TrainOptions::default() }).unwrap();
    assert_ne!(resumed.manifest.weights_digest, whole.manifest.weights_digest);

    let d = replay(&run_dir, ReplayOptions::default()).unwrap().divergence.expect("the forgery diverges");
    assert_eq!((d.step, d.path.as_deref(), d.what.as_str()), (120, Some("layers.1.weight"), "weights digest"), "{d}");
}

#[test]
fn an_altered_checkpoint_should_be_refused_naming_step_and_layer() {
    let dir = owm_testkit::tempdir();
    let mut config = small(2);
    config.trace.checkpoint_every = 40;
    let run_dir = dir.path().join("run");
    train(&config, &run_dir, false).unwrap();
    let path = run_dir.join(files::CHECKPOINT);
    let mut c = Checkpoint::load(&path).unwrap();
    let last = c.weights.len() - 1;
    c.weights[last] = 9.0;
    std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
    let err = train_with(&config, &run_dir, TrainOptions { resume: Some(path), ..TrainOptions::default() }).unwrap_err().to_string();
    assert!(err.contains("checkpoint.json") && err.contains("layers.1.bias") && err.contains("step 80"), "{err}");
}

#[test]
fn an_altered_bundled_trace_should_be_refused() {
    let dir = owm_testkit::tempdir();
    let run = train(&small(1), &dir.path().join("run"), false).unwrap();
    let path = run.bundle_dir.join(files::TRACE);
    let text = std::fs::read_to_string(&path).unwrap().replacen("\"loss\":", "\"loss\": ", 1);
    std::fs::write(&path, text).unwrap();
    let err = owm_share::load_bundle(&run.bundle_dir).unwrap_err();
    assert!(matches!(err, owm_share::Error::FileTampered { .. }), "{err}");
}

#[test]
fn a_replay_on_another_backend_should_measure_drift_instead_of_failing() {
    let dir = owm_testkit::tempdir();
    let run = train(&small(1), &dir.path().join("run"), false).unwrap();
    let options = ReplayOptions { backend: Some(owm_core::BackendKind::NdArray), ..ReplayOptions::default() };
    let report = replay(&run.run_dir, options).unwrap();
    assert!(!report.exact);
    assert_eq!(report.divergence, None);
    assert_eq!(report.steps, run.training.steps);
    let loss = report.drift.iter().find(|d| d.stat == "loss").expect("loss drift measured");
    // flex and ndarray sum in different orders: the losses drift by float rounding only.
    assert!(loss.max_relative < 1e-3, "{loss:?}");
}

#[test]
fn a_run_killed_after_its_last_checkpoint_should_resume_without_an_extra_step() {
    // 82 steps with a checkpoint every 41: the last checkpoint is written at the very step that ends the run.
    let dir = owm_testkit::tempdir();
    let mut config = small(2);
    config.trace.checkpoint_every = 41;
    let run_dir = dir.path().join("run");
    let whole = train(&config, &run_dir, false).unwrap();
    assert_eq!(Checkpoint::load(&run_dir.join(files::CHECKPOINT)).unwrap().total_steps, 82);
    // Killed while writing the bundle: the trace and checkpoint are complete, the bundle is not.
    std::fs::remove_dir_all(run_dir.join(files::BUNDLE)).unwrap();
    let options = TrainOptions { resume: Some(run_dir.join(files::CHECKPOINT)), ..TrainOptions::default() };
    let resumed = train_with(&config, &run_dir, options).unwrap();
    assert_eq!((resumed.training.steps, resumed.training.epochs), (82, 2));
    assert_eq!(resumed.manifest.weights_digest, whole.manifest.weights_digest);
    assert_eq!(resumed.training.stop_reason, whole.training.stop_reason);
    assert!(replay(&run_dir, ReplayOptions::default()).unwrap().reproduced());
}
