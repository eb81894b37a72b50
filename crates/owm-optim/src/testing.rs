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
        Ok(Gradient { loss, grads: vec![Some(w)], items: 1, correct: None, epoch: 1, epoch_end: true, batch: None, rows: Vec::new() })
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

/// A table `t` of 6 rows of 3 read by row, and a bias `b` of 3: step `k` (from 1) reads the rows
/// `schedule[(k − 1) % len]`, and L = ½ Σ over those rows of ‖t_r − r‖² + ½ ‖b‖², so the table's gradient is
/// `t_r − r` on the rows read and zero elsewhere: the rows named by [`Gradient::rows`], alone.
pub(crate) struct Table {
    pub(crate) metas: Vec<ParamMeta>,
    pub(crate) schedule: Vec<Vec<u32>>,
    pub(crate) step: usize,
}

impl Table {
    pub(crate) fn new(schedule: Vec<Vec<u32>>) -> Self {
        let metas = vec![ParamMeta { path: "t.weight".into(), shape: vec![6, 3] }, ParamMeta { path: "b".into(), shape: vec![3] }];
        Self { metas, schedule, step: 0 }
    }

    /// The starting weights: `t` counts from 0.5 in steps of 0.25, `b = [1, −2, 3]`.
    pub(crate) fn start(&self) -> ParamSet {
        let device = Device::flex();
        let t: Vec<f32> = (0..18).map(|i| 0.5 + 0.25 * i as f32).collect();
        let values = vec![Tensor::from_data(TensorData::new(t, [18]), &device), Tensor::from_floats([1.0, -2.0, 3.0], &device)];
        ParamSet::new(self.metas.clone(), values).unwrap()
    }

    /// The whole gradient at `params` for `rows`, on the host.
    pub(crate) fn dense_gradient(params: &ParamSet, rows: &[u32]) -> Vec<f32> {
        let t = owm_core::host_f32(params.tensors()[0].clone().into_data());
        let mut g = vec![0f32; 18];
        for &r in rows {
            for c in 0..3 {
                let i = r as usize * 3 + c;
                g[i] = t[i] - r as f32;
            }
        }
        g
    }
}

impl Objective for Table {
    fn params(&self) -> &[ParamMeta] {
        &self.metas
    }
    fn gradient(&mut self, params: &ParamSet) -> owm_core::Result<Gradient> {
        let rows = self.schedule[self.step % self.schedule.len()].clone();
        self.step += 1;
        let device = Device::flex();
        let g = Self::dense_gradient(params, &rows);
        let loss = 0.5 * g.iter().map(|x| f64::from(x * x)).sum::<f64>();
        // The rows read, alone, as the gradient of a table with rows holds them.
        let read: Vec<f32> = rows.iter().flat_map(|&r| g[r as usize * 3..r as usize * 3 + 3].to_vec()).collect();
        let n = read.len();
        let grads = vec![Some(Tensor::from_data(TensorData::new(read, [n]), &device)), Some(params.tensors()[1].clone())];
        Ok(Gradient { loss, grads, items: 1, correct: None, epoch: 1, epoch_end: true, batch: None, rows: vec![Some(rows), None] })
    }
    fn evaluate(&mut self, _: &[Vec<f32>], _: Sample) -> owm_core::Result<Vec<Fitness>> {
        unreachable!("gradient methods only")
    }
    fn train_items(&self) -> usize {
        1
    }
}
