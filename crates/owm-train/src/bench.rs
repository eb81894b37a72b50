use std::time::Instant;

use burn::prelude::*;
use owm_core::{BackendKind, NullSink, ParamSet, Rng, Sample};
use owm_models::ModelConfig;
use owm_optim::{AdamConfig, OptimizerConfig, StepContext};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A training-throughput measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// What was measured (`"lenet5-cifar-adam"`).
    pub name: String,
    /// The backend.
    pub backend: String,
    /// Items per step.
    pub batch_size: usize,
    /// Timed steps (after warm-up).
    pub steps: usize,
    /// Seconds for the timed steps.
    pub seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
}

impl Throughput {
    fn new(name: String, backend: BackendKind, batch_size: usize, steps: usize, seconds: f64) -> Self {
        Self { name, backend: backend.name().into(), batch_size, steps, seconds, images_per_second: (batch_size * steps) as f64 / seconds }
    }
}

/// A kernel-level workload of `owm bench` and `cargo xtask bench`: a model and the input it trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// LeNet-5 on CIFAR-shaped input `[3, 32, 32]` (the backend comparison).
    LeNetCifar,
    /// LeNet-5 on Fashion-MNIST-shaped input `[1, 28, 28]`, first convolution padded by 2.
    LeNet,
    /// An MLP 784-256-10 on Fashion-MNIST-shaped input.
    Mlp,
    /// The CIFAR residual network (depth 8, width 16, batch norm) on `[3, 32, 32]`.
    ResNet,
}

impl Workload {
    /// Every workload, by the name `owm bench --model` takes.
    pub const ALL: [(&'static str, Workload); 4] =
        [("lenet-cifar", Workload::LeNetCifar), ("lenet", Workload::LeNet), ("mlp", Workload::Mlp), ("resnet", Workload::ResNet)];

    /// The name `owm bench --model` takes.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, w)| *w == self).map_or("?", |(n, _)| n)
    }

    fn model(self) -> (ModelConfig, [usize; 3]) {
        match self {
            Workload::LeNetCifar => (ModelConfig::LeNet5 { conv1_padding: 0 }, [3, 32, 32]),
            Workload::LeNet => (ModelConfig::LeNet5 { conv1_padding: 2 }, [1, 28, 28]),
            Workload::Mlp => (ModelConfig::Mlp { hidden: vec![256] }, [1, 28, 28]),
            Workload::ResNet => (ModelConfig::ResNet { depth: 8, width: 16 }, [3, 32, 32]),
        }
    }
}

/// Measures the training throughput of `workload` with Adam at lr 1e-3, the way `owm train` steps: shuffled
/// batches of a (random, seeded) training split through the pipeline's objective, forward, cross-entropy,
/// backward and update per step, with `layer_stats` (the per-layer statistics `owm train` traces at every
/// step) or without.
///
/// `warmup` untimed steps come first; the timed loop ends by reading the parameters back, so queued GPU work is
/// included.
///
/// # Errors
///
/// [`crate::Error::Core`] when the backend is not compiled in.
pub fn step_throughput(backend: BackendKind, workload: Workload, batch_size: usize, steps: usize, warmup: usize, layer_stats: bool) -> Result<Throughput> {
    crate::on_pool(|| {
        let device = backend.device()?;
        device.seed(0);
        let autodiff = device.clone().autodiff();
        let (config, shape) = workload.model();
        let data = random_split(batch_size * 20, shape)?;
        let model = config.init(&data.input_spec(), 10, &autodiff)?;
        let mut params = ParamSet::of(&model);
        let mut objective = crate::DatasetObjective::new(model, &data, None, &device, 0, batch_size);
        let mut optim = OptimizerConfig::Adam(AdamConfig::new(1e-3)).build(0)?;
        let mut started = Instant::now();
        for step in 0..warmup + steps {
            if step == warmup {
                started = Instant::now();
            }
            let ctx = StepContext { step: step as u64 + 1, layer_stats };
            params = optim.step(params, &mut objective, ctx, &mut NullSink)?.params;
        }
        let _ = params.to_host();
        Ok(Throughput::new(format!("{}-adam", workload.name()), backend, batch_size, steps, started.elapsed().as_secs_f64()))
    })
}

/// `items` standard-normal images of `shape` with labels below 10, from the seeded generator 0.
fn random_split(items: usize, shape: [usize; 3]) -> Result<owm_data::Dataset> {
    let mut rng = Rng::new(0);
    let pixels: Vec<f32> = (0..items * shape.iter().product::<usize>()).map(|_| rng.normal(0.0, 1.0) as f32).collect();
    let labels: Vec<usize> = (0..items).map(|_| rng.below(10) as usize).collect();
    Ok(owm_data::Dataset::new("bench", shape, (0..10).map(|c| c.to_string()).collect(), pixels, labels)?)
}

/// Measures evaluation throughput of `workload` (forward passes of `batch_size` images without autodiff, the
/// way `owm eval` and the pipeline's evaluation run), reading the last logits back.
///
/// # Errors
///
/// [`crate::Error::Core`] when the backend is not compiled in.
pub fn eval_throughput(backend: BackendKind, workload: Workload, batch_size: usize, steps: usize, warmup: usize) -> Result<Throughput> {
    crate::on_pool(|| {
        let device = backend.device()?;
        device.seed(0);
        let (config, shape) = workload.model();
        let [c, h, w] = shape;
        let mut rng = Rng::new(0);
        let pixels: Vec<f32> = (0..batch_size * c * h * w).map(|_| rng.normal(0.0, 1.0) as f32).collect();
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [batch_size, c, h, w]), &device);
        let model = config.init(&owm_core::InputSpec::Image { shape }, 10, &device)?;
        let mut started = Instant::now();
        let mut last = None;
        for step in 0..warmup + steps {
            if step == warmup {
                started = Instant::now();
            }
            last = Some(model.forward(owm_core::Input::Image(images.clone())));
        }
        let _ = last.map(|l| l.into_data());
        Ok(Throughput::new(format!("{}-eval", workload.name()), backend, batch_size, steps, started.elapsed().as_secs_f64()))
    })
}

/// DP-SGD beside plain training: LeNet-5 with Adam on random CIFAR-shaped images, through the pipeline's
/// own objective, once with Poisson sampling, per-example clipping and noise, once with shuffled batches.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DpThroughput {
    /// Backend.
    pub backend: String,
    /// Expected (private) and fixed (plain) images per step.
    pub batch_size: usize,
    /// Timed steps of each.
    pub steps: usize,
    /// Training images per second without privacy.
    pub plain_images_per_second: f64,
    /// Training images per second with DP-SGD (clip 1, noise multiplier 1).
    pub private_images_per_second: f64,
    /// How many times slower DP-SGD is (target: at most 3).
    pub slowdown: f64,
}

/// Measures [`DpThroughput`] on `backend` after `warmup` untimed steps.
///
/// # Errors
///
/// Backend selection or a training error.
pub fn dp_throughput(backend: BackendKind, batch_size: usize, steps: usize, warmup: usize) -> Result<DpThroughput> {
    let device = backend.device()?;
    device.seed(0);
    let autodiff = device.clone().autodiff();
    let items = batch_size * 20;
    let data = random_split(items, [3, 32, 32])?;
    let model = ModelConfig::LeNet5 { conv1_padding: 0 }.init(&data.input_spec(), 10, &autodiff)?;
    let rate = batch_size as f64 / items as f64;
    let mut rates = [0.0; 2];
    for (private, slot) in [false, true].into_iter().zip(&mut rates) {
        let mut config = OptimizerConfig::Adam(AdamConfig::new(1e-3));
        if private {
            config.make_private(owm_optim::DpSgd { clip: 1.0, noise_multiplier: 1.0, sample_rate: rate, seed: 0 })?;
        }
        let mut optim = config.build(0)?;
        let mut objective = crate::DatasetObjective::new(model.clone(), &data, None, &device, 0, batch_size);
        let mut params = ParamSet::of(&model);
        let (mut started, mut images) = (Instant::now(), 0u64);
        for step in 0..warmup + steps {
            if step == warmup {
                (started, images) = (Instant::now(), 0);
            }
            let ctx = StepContext { step: step as u64 + 1, layer_stats: false };
            let stepped = optim.step(params, &mut objective, ctx, &mut NullSink)?;
            (params, images) = (stepped.params, images + stepped.items);
        }
        let _ = params.to_host();
        *slot = images as f64 / started.elapsed().as_secs_f64();
    }
    let [plain, private] = rates;
    Ok(DpThroughput {
        backend: backend.name().into(),
        batch_size,
        steps,
        plain_images_per_second: plain,
        private_images_per_second: private,
        slowdown: plain / private,
    })
}

/// The genetic algorithm of the PyGAD comparison (`tools/pygad_digits.py`): population 50, 2 elites,
/// tournament of 3, uniform crossover with probability 0.9, uniform mutation `U(−0.1, 0.1)` on 10% of the
/// weights, fitness on the whole training split.
pub fn pygad_recipe() -> owm_optim::GaConfig {
    owm_optim::GaConfig {
        population: 50,
        elites: 2,
        selection: owm_optim::Selection::Tournament { size: 3 },
        crossover: owm_optim::Crossover::Uniform,
        crossover_rate: 0.9,
        mutation: owm_optim::Mutation::Uniform { low: -0.1, high: 0.1, rate: 0.1 },
        init_std: 0.1,
        sample: Sample::Full,
    }
}

/// A search-throughput measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchThroughput {
    /// What was measured (`"ga-digits-mlp32"`).
    pub name: String,
    /// The backend.
    pub backend: String,
    /// Individuals per generation.
    pub population: usize,
    /// Timed generations (after the initial population's evaluation).
    pub generations: usize,
    /// Seconds for the timed generations.
    pub seconds: f64,
    /// Generations per second.
    pub generations_per_second: f64,
}

/// Measures generations per second of [`pygad_recipe`] on the digits MLP (64 → 32 → 10, 2,410 weights),
/// fitness on the 1,438 training items: breeding, evaluation of every child on the whole training split, and
/// selection, as PyGAD does in `tools/pygad_digits.py --bench`.
///
/// # Errors
///
/// [`crate::Error::Core`] when the backend is not compiled in, or any data error.
pub fn ga_throughput(backend: BackendKind, generations: usize) -> Result<SearchThroughput> {
    let config = crate::ExperimentConfig { model: ModelConfig::Mlp { hidden: vec![32] }, ..crate::ExperimentConfig::default() };
    let device = backend.device()?;
    let splits = config.data.load(config.seed)?;
    let norm = owm_data::Normalizer::fit(&splits.train)?;
    let model = config.model.init(&splits.train.input_spec(), splits.train.num_classes(), &device.clone().autodiff())?;
    let (model, _) = config.init.apply(model, config.seed)?;
    let mut params = ParamSet::of(&model);
    let mut objective = crate::DatasetObjective::new(model, &splits.train, Some(&norm), &device, config.seed, 32);
    let mut ga = OptimizerConfig::Ga(pygad_recipe()).build(config.seed)?;
    let mut started = Instant::now();
    for step in 0..=generations {
        if step == 1 {
            started = Instant::now();
        }
        let ctx = StepContext { step: step as u64 + 1, layer_stats: false };
        params = ga.step(params, &mut objective, ctx, &mut NullSink)?.params;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(SearchThroughput {
        name: "ga-digits-mlp32".into(),
        backend: backend.name().into(),
        population: 50,
        generations,
        seconds,
        generations_per_second: generations as f64 / seconds,
    })
}

/// What default tracing costs on the full `owm train` path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracingCost {
    /// What was measured (`"tracing-lenet5-cifar-sized"`).
    pub name: String,
    /// The backend.
    pub backend: String,
    /// Training images, epochs and batch size of each run.
    pub train_items: usize,
    /// Epochs per run.
    pub epochs: u64,
    /// Optimisation steps per run.
    pub steps: u64,
    /// Seconds of the whole run (training, evaluation, bundle, report) with default tracing.
    pub seconds_traced: f64,
    /// Seconds with tracing off ([`crate::TraceConfig::minimal`]).
    pub seconds_untraced: f64,
    /// `seconds_traced / seconds_untraced − 1` (target: at most 0.03).
    pub overhead: f64,
    /// Bytes of the traced run's `trace.jsonl` (target: under 20 MB for 10 epochs on CIFAR-10-sized data).
    pub trace_bytes: u64,
    /// Seconds `owm report` takes on that trace (target: under 2 s).
    pub report_seconds: f64,
}

/// Trains LeNet-5 with Adam on random CIFAR-10-sized data (`train_items` 32×32×3 images in CIFAR-10 binary
/// batches written to a scratch folder) twice, with default tracing and with tracing off, alternating, and
/// reports the overhead, the trace's size and how long its report takes to render.
///
/// # Errors
///
/// A file or training error.
pub fn tracing_cost(backend: BackendKind, train_items: usize, epochs: u64) -> Result<TracingCost> {
    let scratch = std::env::temp_dir().join(format!("owm-tracing-bench-{}", std::process::id()));
    let data = scratch.join("cifar");
    std::fs::create_dir_all(&data).map_err(|source| owm_core::Error::Io { op: "create", path: data.clone(), source })?;
    let mut rng = Rng::new(1);
    let mut batch = |items: usize| -> Vec<u8> {
        (0..items).flat_map(|_| std::iter::once(rng.below(10) as u8).chain((0..3072).map(|_| rng.below(256) as u8)).collect::<Vec<u8>>()).collect()
    };
    let per_file = train_items.div_ceil(5);
    for (i, items) in (0..5).map(|i| (i, per_file.min(train_items.saturating_sub(i * per_file)))).filter(|(_, n)| *n > 0) {
        owm_core::write_atomic(&data.join(format!("data_batch_{}.bin", i + 1)), &batch(items))?;
    }
    owm_core::write_atomic(&data.join("test_batch.bin"), &batch(1000))?;
    let traced = crate::ExperimentConfig {
        name: "tracing-bench".into(),
        backend: backend.clone(),
        data: owm_data::DataConfig::new(owm_data::DataSource::Cifar10 { dir: data }),
        model: ModelConfig::LeNet5 { conv1_padding: 0 },
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-3)),
        batch_size: 64,
        convergence: owm_optim::ConvergenceConfig::epochs(epochs),
        ..crate::ExperimentConfig::default()
    };
    let untraced = crate::ExperimentConfig { trace: crate::TraceConfig::minimal(), ..traced.clone() };
    // Alternate, so drift of the machine's speed hits both alike.
    let (mut on, mut off, mut steps, mut bytes) = (0.0, 0.0, 0, 0);
    for (round, config) in [&untraced, &traced, &traced, &untraced].into_iter().enumerate() {
        let dir = scratch.join(format!("run-{round}"));
        let report = crate::train(config, &dir, false)?;
        if config.trace == untraced.trace {
            off += report.seconds;
        } else {
            on += report.seconds;
            bytes = std::fs::metadata(dir.join(crate::files::TRACE)).map_or(0, |m| m.len());
        }
        steps = report.training.steps;
    }
    let started = Instant::now();
    let traced_run = scratch.join("run-1");
    crate::write_report(&traced_run, &owm_trace::read_trace(traced_run.join(crate::files::TRACE))?)?;
    let report_seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(TracingCost {
        name: "tracing-lenet5-cifar-sized".into(),
        backend: backend.name().into(),
        train_items,
        epochs,
        steps,
        seconds_traced: on / 2.0,
        seconds_untraced: off / 2.0,
        overhead: on / off - 1.0,
        trace_bytes: bytes,
        report_seconds,
    })
}

/// Bundle save, load and verify throughput on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleThroughput {
    /// Bytes of `weights.safetensors`.
    pub weights_bytes: u64,
    /// Seconds to write the bundle (serialise, hash, write, rename).
    pub save_seconds: f64,
    /// Seconds to load it (read, verify every digest, copy the tensors out).
    pub load_seconds: f64,
    /// Seconds to verify it (read, every digest, no copies kept).
    pub verify_seconds: f64,
    /// Megabytes (10^6) per second of each.
    pub save_mb_per_s: f64,
    /// As above.
    pub load_mb_per_s: f64,
    /// As above.
    pub verify_mb_per_s: f64,
    /// Threads available (hashing is single-threaded).
    pub threads: usize,
}

/// Saves, loads and verifies a bundle of an MLP of about `megabytes` MB of `f32` weights (64 → w → w with
/// `w² ≈ megabytes · 250,000`) in a scratch folder under `scratch`, best of three each.
///
/// # Errors
///
/// A bundle or file error.
pub fn bundle_throughput(megabytes: usize, scratch: &std::path::Path) -> Result<BundleThroughput> {
    let width = ((megabytes.max(1) as f64 * 250_000.0).sqrt() as usize).max(1);
    let device = Device::flex();
    let model = owm_models::Mlp::new(64, &[width], width, &device)?;
    let dir = scratch.join(format!("owm-bundle-bench-{}", std::process::id()));
    let best = |f: &mut dyn FnMut(usize) -> Result<()>| -> Result<f64> {
        let mut best = f64::INFINITY;
        for i in 0..3 {
            let t = Instant::now();
            f(i)?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        Ok(best)
    };
    let _ = std::fs::remove_dir_all(&dir);
    let save = best(&mut |i| {
        owm_share::save_bundle(dir.join(format!("b{i}")), &model, owm_share::Manifest::new(0))?;
        Ok(())
    });
    let load = best(&mut |_| {
        owm_share::load_bundle(dir.join("b0"))?;
        Ok(())
    });
    let verify = best(&mut |_| {
        let v = owm_share::verify_bundle(dir.join("b0"), None)?;
        match v.problems.into_iter().next() {
            Some(problem) => Err(problem.into()),
            None => Ok(()),
        }
    });
    let weights_bytes = std::fs::metadata(dir.join("b0").join(owm_share::WEIGHTS_FILE)).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    let (save, load, verify) = (save?, load?, verify?);
    let mb = weights_bytes as f64 / 1e6;
    Ok(BundleThroughput {
        weights_bytes,
        save_seconds: save,
        load_seconds: load,
        verify_seconds: verify,
        save_mb_per_s: mb / save,
        load_mb_per_s: mb / load,
        verify_mb_per_s: mb / verify,
        threads: rayon::current_num_threads(),
    })
}

/// Seconds per all-reduce of `values` `f32`s across `group`, bucketed as training's gradients are (every
/// bucket started, then each waited for), over `steps` calls after `warmup`.
///
/// # Errors
///
/// [`crate::Error::Core`] when the group breaks.
pub fn all_reduce_seconds(group: &dyn owm_core::Collective, values: usize, steps: usize, warmup: usize) -> Result<f64> {
    let buffer = vec![1.0f32; values];
    let call = || -> owm_core::Result<()> {
        let started: Vec<owm_core::Reduction> =
            buffer.chunks(crate::objective::BUCKET_VALUES).map(|b| group.start_all_reduce(b.to_vec())).collect::<owm_core::Result<_>>()?;
        started.into_iter().try_for_each(|r| r.wait().map(drop))
    };
    for _ in 0..warmup {
        call()?;
    }
    let started = Instant::now();
    for _ in 0..steps {
        call()?;
    }
    Ok(started.elapsed().as_secs_f64() / steps.max(1) as f64)
}
