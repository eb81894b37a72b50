use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use owm_core::{BackendKind, NullSink, Rng};
use owm_models::ModelConfig;
use owm_optim::{AdamConfig, Optimizer, OptimizerConfig, StepInfo};
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

/// Measures LeNet-5 training throughput on CIFAR-shaped input (`[batch, 3, 32, 32]`, ten classes) with Adam at
/// lr 1e-3: forward, cross-entropy, backward and update per step, without per-layer statistics.
///
/// Inputs are drawn once from a seeded generator, outside the timed loop; `warmup` untimed steps come first;
/// the timed loop ends by reading the last loss back, so queued GPU work is included.
///
/// # Errors
///
/// [`crate::Error::Core`] when the backend is not compiled in.
pub fn lenet_throughput(backend: BackendKind, batch_size: usize, steps: usize, warmup: usize) -> Result<Throughput> {
    let device = backend.device()?;
    device.seed(0);
    let autodiff = device.autodiff();
    let mut rng = Rng::new(0);
    let images: Vec<f32> = (0..batch_size * 3 * 32 * 32).map(|_| rng.normal(0.0, 1.0) as f32).collect();
    let labels: Vec<i64> = (0..batch_size).map(|_| rng.below(10) as i64).collect();
    let images = Tensor::<4>::from_data(TensorData::new(images, [batch_size, 3, 32, 32]), &autodiff);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch_size]), &autodiff);
    let mut model = ModelConfig::LeNet5 { conv1_padding: 0 }.init([3, 32, 32], 10, &autodiff)?;
    let mut optim = Optimizer::new(&OptimizerConfig::Adam(AdamConfig::new(1e-3)))?.with_layer_stats(false);
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let mut started = Instant::now();
    let mut last = None;
    for step in 0..warmup + steps {
        if step == warmup {
            if let Some(loss) = last.take() {
                let _ = scalar_sync(loss);
            }
            started = Instant::now();
        }
        let loss = loss_fn.forward(model.forward(images.clone()), labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let info = StepInfo { step: step as u64 + 1, epoch: 1, loss: f64::NAN };
        model = optim.step(model, grads, info, &mut NullSink)?.0;
        last = Some(loss);
    }
    if let Some(loss) = last {
        let _ = scalar_sync(loss);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Throughput {
        name: "lenet5-cifar-adam".into(),
        backend: backend.name().into(),
        batch_size,
        steps,
        seconds,
        images_per_second: (batch_size * steps) as f64 / seconds,
    })
}

fn scalar_sync(t: Tensor<1>) -> f32 {
    t.into_data().convert::<f32>().try_to_vec::<f32>().map(|v| v[0]).unwrap_or(f32::NAN)
}
