//! Objectives with known answers for the crate's unit tests.

use burn::prelude::*;
use owm_core::{Fitness, Gradient, Objective, ParamMeta, ParamSet, Sample};

/// L = 0.5·‖w‖², so g = w.
pub(crate) struct Half(pub(crate) Vec<ParamMeta>);

impl Objective for Half {
    fn params(&self) -> &[ParamMeta] {
        &self.0
    }
    fn gradient(&mut self, params: &ParamSet) -> owm_core::Result<Gradient> {
        let w = params.tensors()[0].clone();
        let loss = 0.5 * owm_core::device_scalar(w.clone().square().sum())?;
        Ok(Gradient { loss, grads: vec![Some(w)], items: 1, correct: None, epoch: 1, epoch_end: true, batch: None })
    }
    fn evaluate(&mut self, _: &[Vec<f32>], _: Sample) -> owm_core::Result<Vec<Fitness>> {
        unreachable!("gradient methods only")
    }
    fn train_items(&self) -> usize {
        1
    }
}

/// One parameter `w = [3, 4]` on the CPU.
pub(crate) fn start() -> ParamSet {
    let w = Tensor::<1>::from_floats([3.0, 4.0], &Device::flex());
    ParamSet::new(vec![ParamMeta { path: "w".into(), shape: vec![2] }], vec![w]).unwrap()
}
