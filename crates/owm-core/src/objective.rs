//! The objective both optimiser families use: the pipeline provides it for any model and task.

use burn::prelude::*;

use crate::{Error, ParamMeta, ParamSet, Result};

/// Which training items an evaluation of candidate weights uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sample {
    /// Every training item.
    Full,
    /// The next `size` items of the shuffled training order (all candidates of one call see the same items).
    Batch {
        /// Items.
        size: usize,
    },
}

/// The loss and gradient of one mini-batch.
#[derive(Debug, Clone)]
pub struct Gradient {
    /// Mean loss of the batch at the weights the gradient was taken at.
    pub loss: f64,
    /// Gradient per parameter, aligned with [`Objective::params`] (`None`: the parameter got none).
    pub grads: Vec<Option<Tensor<1>>>,
    /// Items in the batch.
    pub items: usize,
    /// Items the model classified correctly, when the task has a notion of correctness.
    pub correct: Option<usize>,
    /// Epoch of the batch, from 1.
    pub epoch: u64,
    /// Whether this batch ended its epoch.
    pub epoch_end: bool,
    /// Digest of the batch's item indices, recorded in the trace so a replay can check the data order.
    pub batch: Option<String>,
    /// For a parameter the model reads only by row (an embedding table, see [`crate::Lookup`]), the rows this
    /// batch read, ascending and distinct: its gradient is zero in every other row, and `grads` holds those
    /// rows alone (`[rows · row width]`), so an optimiser can update and trace them alone
    /// ([`Gradient::dense`] gives the whole). Aligned with `grads`; `None` (or an empty vector, for every
    /// parameter) where the gradient is whole.
    pub rows: Vec<Option<Vec<u32>>>,
}

impl Gradient {
    /// The rows of each parameter [`Gradient::rows`] names, checked against `params` (the objective's) and
    /// the gradient's length; `None` where the gradient is whole, or for no rows at all.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Param`] when the rows do not ascend, repeat, leave the table, or do not fit the
    /// gradient's length.
    pub fn table_rows(&self, params: &[ParamMeta], device: &Device) -> Result<Vec<Option<TableRows>>> {
        params
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let Some(Some(rows)) = self.rows.get(i) else { return Ok(None) };
                let table = TableRows::new(&m.path, &m.shape, rows, device)?;
                let want = table.as_ref().map_or(0, TableRows::len);
                match self.grads.get(i).and_then(Option::as_ref).map(|g| g.dims()[0]) {
                    Some(got) if got != want => {
                        Err(Error::Param { path: m.path.clone(), reason: format!("a gradient of {got} values for {} rows ({want} values)", rows.len()) })
                    }
                    _ => Ok(table),
                }
            })
            .collect()
    }

    /// The gradient of every parameter whole: a table's rows ([`Gradient::rows`]) written into zeros of its size.
    ///
    /// # Errors
    ///
    /// As [`Gradient::table_rows`].
    pub fn dense(&self, params: &[ParamMeta], device: &Device) -> Result<Vec<Option<Tensor<1>>>> {
        let tables = self.table_rows(params, device)?;
        Ok(self
            .grads
            .iter()
            .zip(tables)
            .map(|(g, rows)| match (g, rows) {
                (Some(g), Some(rows)) => Some(rows.scatter(Tensor::zeros([rows.numel()], &g.device()), g.clone())),
                (g, _) => g.clone(),
            })
            .collect())
    }
}

/// Some rows of a table parameter (along its first dimension), as a flat `[table · width]` tensor holds them:
/// gathered into `[rows · width]` and written back.
#[derive(Debug, Clone)]
pub struct TableRows {
    index: Tensor<1, Int>,
    count: usize,
    table: usize,
    width: usize,
}

impl TableRows {
    /// Rows `rows` of the parameter at `path` of `shape`; `None` for no rows.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Param`] unless the rows ascend, are distinct and lie inside the table.
    pub fn new(path: &str, shape: &[usize], rows: &[u32], device: &Device) -> Result<Option<Self>> {
        let table = shape.first().copied().unwrap_or(1).max(1);
        let width = shape.iter().product::<usize>() / table;
        let err = |reason: String| Error::Param { path: path.to_string(), reason };
        if let Some(w) = rows.windows(2).find(|w| w[0] >= w[1]) {
            return Err(err(format!("row {} follows row {}: a gradient's rows must ascend without repeats", w[1], w[0])));
        }
        if let Some(&last) = rows.last().filter(|&&r| r as usize >= table) {
            return Err(err(format!("gradient row {last} is outside a table of {table} rows")));
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let ids: Vec<i64> = rows.iter().map(|&r| i64::from(r)).collect();
        Ok(Some(Self { index: Tensor::from_data(TensorData::new(ids, [rows.len()]), device), count: rows.len(), table, width }))
    }

    /// The rows of `full` (`[table · width]`), flat: `[rows · width]`.
    pub fn gather(&self, full: &Tensor<1>) -> Tensor<1> {
        full.clone().reshape([self.table, self.width]).select(0, self.index.clone()).reshape([self.len()])
    }

    /// `full` with these rows replaced by `rows` (`[rows · width]`); in place when nothing else holds `full`.
    pub fn scatter(&self, full: Tensor<1>, rows: Tensor<1>) -> Tensor<1> {
        let rows = rows.reshape([self.count, self.width]);
        full.reshape([self.table, self.width]).select_assign(0, self.index.clone(), rows, burn::tensor::IndexingUpdateOp::Assign).reshape([self.numel()])
    }

    /// Values in these rows.
    pub fn len(&self) -> usize {
        self.count * self.width
    }

    /// Whether there are no values (never: [`TableRows::new`] gives `None` for no rows).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values in the whole table.
    pub fn numel(&self) -> usize {
        self.table * self.width
    }
}

/// The digest a trace records for a batch: the first 16 hex digits of the SHA-256 of its item indices, in
/// order, as little-endian `u64`s.
pub fn batch_digest(indices: &[usize]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for &i in indices {
        h.update((i as u64).to_le_bytes());
    }
    let full = format!("{:x}", h.finalize());
    full[..16].to_string()
}

/// What DP-SGD asks of an objective: a batch drawn by Poisson sampling — each training item independently with
/// probability `rate`, the sampling the privacy accountant assumes — and each item's gradient clipped to L2
/// norm `clip` over all parameters together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrivateSample {
    /// Probability that an item is in the batch.
    pub rate: f64,
    /// Per-item gradient norm bound.
    pub clip: f64,
}

/// A Poisson-sampled batch's clipped per-item gradients, summed (not averaged: the mechanism adds noise to
/// the sum), with how many items were clipped.
#[derive(Debug, Clone)]
pub struct PrivateGradient {
    /// The sum in `grads`; the mean loss, items, accuracy, epoch and batch digest as for [`Objective::gradient`].
    pub gradient: Gradient,
    /// Items whose gradient norm exceeded the bound and was scaled down to it.
    pub clipped: usize,
}

/// The value of one candidate weight vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitness {
    /// Mean loss (lower is better); `+∞` stands for a candidate whose loss is not finite.
    pub loss: f64,
    /// Fraction of items classified correctly, when the task has one.
    pub accuracy: Option<f64>,
}

/// "The loss of these weights on this data", asked by optimisers and provided by the pipeline.
///
/// Gradient methods call [`Objective::gradient`] (one mini-batch per call, in the pipeline's seeded order);
/// search methods call [`Objective::evaluate`] with many candidate weight vectors at once, which an
/// implementation may evaluate in parallel. Candidates are host vectors laid out as [`ParamSet::to_host`].
pub trait Objective {
    /// Paths and shapes of the parameters, in the order of every vector and gradient list.
    fn params(&self) -> &[ParamMeta];

    /// Loss and gradient of `params` on the next training mini-batch; advances the data position.
    ///
    /// # Errors
    ///
    /// An implementation's error (a failed data read, say), as [`crate::Error`].
    fn gradient(&mut self, params: &ParamSet) -> Result<Gradient>;

    /// The summed, per-item clipped gradient of a Poisson-sampled batch at `params` (DP-SGD); advances the
    /// sampling step.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] by default: an objective without per-item gradients cannot train
    /// privately.
    fn private_gradient(&mut self, params: &ParamSet, sample: PrivateSample) -> Result<PrivateGradient> {
        let _ = (params, sample);
        Err(crate::Error::Unsupported("per-example gradients (differentially private training)"))
    }

    /// Loss (and metric) of each candidate on `sample`.
    ///
    /// # Errors
    ///
    /// An implementation's error, or a candidate of the wrong length.
    fn evaluate(&mut self, candidates: &[Vec<f32>], sample: Sample) -> Result<Vec<Fitness>>;

    /// Items in the training data (one epoch).
    fn train_items(&self) -> usize;

    /// Whether gradients are taken over the whole training data (one batch per epoch).
    fn full_batch(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(v: Vec<f32>, device: &Device) -> Tensor<1> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [n]), device)
    }

    #[test]
    fn table_rows_should_gather_and_write_whole_rows() {
        let device = Device::flex();
        let rows = TableRows::new("t", &[3, 2], &[0, 2], &device).unwrap().unwrap();
        let full = floats(vec![0., 1., 2., 3., 4., 5.], &device);
        assert_eq!(crate::host_f32(rows.gather(&full).into_data()), [0., 1., 4., 5.]);
        let written = rows.scatter(full, floats(vec![9., 8., 7., 6.], &device));
        assert_eq!(crate::host_f32(written.into_data()), [9., 8., 2., 3., 7., 6.]);
        assert!(TableRows::new("t", &[3, 2], &[], &device).unwrap().is_none());
    }

    #[test]
    fn table_rows_should_ascend_without_repeats() {
        let device = Device::flex();
        assert!(matches!(TableRows::new("t", &[4, 2], &[1, 1], &device), Err(Error::Param { .. })));
        assert!(matches!(TableRows::new("t", &[4, 2], &[2, 1], &device), Err(Error::Param { .. })));
    }

    #[test]
    fn table_rows_should_lie_inside_the_table() {
        let err = TableRows::new("embedding.weight", &[4, 2], &[0, 4], &Device::flex()).unwrap_err();
        assert!(err.to_string().contains("embedding.weight") && err.to_string().contains("row 4 is outside a table of 4 rows"), "{err}");
    }

    /// A gradient of a table's rows becomes whole with zeros elsewhere; one of the wrong length is refused.
    #[test]
    fn a_gradient_of_rows_should_become_whole() {
        let device = Device::flex();
        let params = [ParamMeta { path: "t".into(), shape: vec![3, 2] }, ParamMeta { path: "b".into(), shape: vec![2] }];
        let mut g = Gradient {
            loss: 0.0,
            grads: vec![Some(floats(vec![1., 2.], &device)), Some(floats(vec![3., 4.], &device))],
            items: 1,
            correct: None,
            epoch: 1,
            epoch_end: true,
            batch: None,
            rows: vec![Some(vec![1]), None],
        };
        let dense: Vec<Vec<f32>> = g.dense(&params, &device).unwrap().into_iter().map(|t| crate::host_f32(t.unwrap().into_data())).collect();
        assert_eq!(dense, [vec![0., 0., 1., 2., 0., 0.], vec![3., 4.]]);
        g.rows[0] = Some(vec![0, 2]);
        let err = g.dense(&params, &device).unwrap_err().to_string();
        assert!(err.contains("a gradient of 2 values for 2 rows (4 values)"), "{err}");
    }
}
