use std::sync::Arc;

use burn::optim::GradientsParams;
use burn::prelude::*;
use owm_core::{
    Collective, Fitness, Gradient, Input, LookupIds, Objective, ParamMeta, ParamSet, PrivateGradient, PrivateSample, Rng, Sample, Task, device_scalar,
    flat_grads, shard,
};
use owm_data::{Augment, Dataset, Normalizer};
use owm_models::{Classifier, Model};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Items per forward pass when candidates are evaluated on the full training split.
const EVAL_CHUNK: usize = 2048;

/// Where the objective is in the seeded data order: epoch (from 1) and the next item of its permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCursor {
    /// Current epoch, from 1 (0 before the first batch).
    pub epoch: u64,
    /// Position in the epoch's permutation.
    pub offset: usize,
    /// Poisson-sampled (differentially private) batches drawn so far.
    #[serde(default)]
    pub private_steps: u64,
}

/// The pipeline's [`Objective`]: the mean loss of the data's [`Task`] (cross-entropy, or binary
/// cross-entropy for yes/no tasks) of a [`Model`] (a built-in [`Classifier`] by default, or a user's module) on a training split, with gradients on the autodiff device and candidate evaluations on the plain device.
///
/// Mini-batches follow the seeded order `Rng::derived(seed, "shuffle/epoch-{epoch}")`, so a run resumed at a
/// [`DataCursor`] sees the batches the uninterrupted run saw. Candidates are evaluated in parallel with
/// rayon, each on its own copy of the model; each candidate's loss is computed alone, so the result does not
/// depend on the thread count.
///
/// With a [`Collective`] of several ranks ([`DatasetObjective::with_collective`]) every rank walks the same
/// seeded order: of each batch, rank `r` takes its contiguous [`shard`], takes the gradient of its items'
/// summed loss divided by the whole batch's size, and one all-reduce of a single flat buffer (loss, correct
/// count, every gradient) adds the shards up — the batch mean's gradient, on every rank. Of each population,
/// rank `r` evaluates its shard of the candidates and the all-reduce gathers every fitness: the same values
/// as in one process, bit for bit.
pub struct DatasetObjective<'a, M: Model = Classifier> {
    model: M,
    eval_model: M,
    eval_template: ParamSet,
    params: Vec<ParamMeta>,
    data: &'a Dataset,
    norm: Option<&'a Normalizer>,
    autodiff: Device,
    device: Device,
    seed: u64,
    batch_size: usize,
    cursor: DataCursor,
    order: Vec<usize>,
    full: Option<Vec<(Input, Tensor<1, Int>)>>,
    augment: Option<Augment>,
    collective: Option<Arc<dyn Collective>>,
    /// The model's [`Model::lookups`], by parameter index.
    lookups: Vec<(usize, LookupIds)>,
}

impl<'a, M: Model> DatasetObjective<'a, M> {
    /// The objective of `model` (built on `device.autodiff()`) on `data`.
    pub fn new(model: M, data: &'a Dataset, norm: Option<&'a Normalizer>, device: &Device, seed: u64, batch_size: usize) -> Self {
        let eval_model = model.valid();
        let eval_template = ParamSet::of(&eval_model);
        let params = eval_template.metas().to_vec();
        let lookups = model.lookups().into_iter().filter_map(|l| params.iter().position(|m| m.path == l.path).map(|i| (i, l.ids))).collect();
        Self {
            model,
            eval_model,
            eval_template,
            params,
            data,
            norm,
            autodiff: device.clone().autodiff(),
            device: device.clone(),
            seed,
            batch_size: batch_size.clamp(1, data.len().max(1)),
            cursor: DataCursor { epoch: 0, offset: 0, private_steps: 0 },
            order: Vec::new(),
            full: None,
            augment: None,
            collective: None,
            lookups,
        }
    }

    /// Shares every batch and every population with the other ranks of `collective` (see the type's docs).
    pub fn with_collective(mut self, collective: Option<Arc<dyn Collective>>) -> Self {
        self.collective = collective.filter(|c| c.world() > 1);
        self
    }

    /// Augments the images of every gradient batch (evaluations see the images as they are), from the
    /// generator `Rng::derived(seed, "augment/epoch-{epoch}/at-{offset}")` of the batch's place in the seeded
    /// order, so a resumed or replayed run augments exactly as the original did.
    pub fn with_augment(mut self, augment: Option<Augment>) -> Self {
        self.augment = augment;
        self
    }

    /// Sets the mini-batch size (the whole split for gradient descent).
    pub fn set_batch_size(&mut self, batch_size: usize) {
        self.batch_size = batch_size.clamp(1, self.data.len().max(1));
    }

    /// The mini-batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The data position.
    pub fn cursor(&self) -> DataCursor {
        self.cursor
    }

    /// Continues from a saved data position.
    pub fn seek(&mut self, cursor: DataCursor) {
        self.cursor = cursor;
        self.order = if cursor.epoch == 0 { Vec::new() } else { self.permutation(cursor.epoch) };
    }

    fn permutation(&self, epoch: u64) -> Vec<usize> {
        Rng::derived(self.seed, &format!("shuffle/epoch-{epoch}")).permutation(self.data.len())
    }

    /// The next `size` indices of the seeded order, and whether they end their epoch.
    fn next_indices(&mut self, size: usize) -> (Vec<usize>, u64, bool) {
        if self.cursor.epoch == 0 || self.cursor.offset >= self.order.len() {
            self.cursor = DataCursor { epoch: self.cursor.epoch + 1, offset: 0, ..self.cursor };
            self.order = self.permutation(self.cursor.epoch);
        }
        let end = (self.cursor.offset + size).min(self.order.len());
        let chunk = self.order[self.cursor.offset..end].to_vec();
        self.cursor.offset = end;
        (chunk, self.cursor.epoch, end == self.order.len())
    }

    /// The metrics of the model with `params` on a validation split ([`crate::validation_metrics`]).
    pub(crate) fn validation(&self, params: &ParamSet, data: &Dataset) -> crate::Result<std::collections::BTreeMap<String, f64>> {
        crate::validation_metrics(&self.model_with(params)?, data, self.norm, &self.device)
    }

    /// The model with `params` written in, for evaluation, with the buffers (batch-norm running statistics)
    /// training has accumulated so far.
    pub fn model_with(&self, params: &ParamSet) -> owm_core::Result<M> {
        params.apply_to(self.model.valid())
    }

    /// The model's buffers (batch-norm running statistics), by path: state the forward passes update, which
    /// a checkpoint must keep beside the weights.
    pub fn buffers(&self) -> Vec<(String, Vec<f32>)> {
        // `valid()` first folds the last forward's pending update into each running state (Burn keeps it
        // aside until the next read); reading the states directly would give them one step late.
        owm_core::state_data(&self.model.valid())
            .into_iter()
            .filter(|(path, _)| owm_core::is_buffer(path))
            .map(|(path, data)| (path, owm_core::host_f32(data)))
            .collect()
    }

    /// Restores buffers saved by [`DatasetObjective::buffers`].
    ///
    /// # Errors
    ///
    /// [`owm_core::Error::Param`] naming a buffer the model lacks or one of another size.
    pub fn set_buffers(&mut self, buffers: &[(String, Vec<f32>)]) -> owm_core::Result<()> {
        for (path, _) in buffers {
            if !owm_core::is_buffer(path) {
                return Err(owm_core::Error::Param { path: path.clone(), reason: "not a buffer".into() });
            }
        }
        let mut used = 0;
        let model = owm_core::replace_state(self.model.clone(), |path, shape| {
            let Some((_, v)) = buffers.iter().find(|(p, _)| p == path) else { return Ok(None) };
            if v.len() != shape.iter().product::<usize>() {
                return Err(owm_core::Error::Param { path: path.into(), reason: format!("{} values for shape {shape:?}", v.len()) });
            }
            used += 1;
            Ok(Some(TensorData::new(v.clone(), shape.to_vec())))
        })?;
        if used != buffers.len() {
            return Err(owm_core::Error::Param { path: "buffers".into(), reason: format!("{} of {} buffers match the model", used, buffers.len()) });
        }
        self.model = model;
        Ok(())
    }

    /// The clipped per-example gradient sum of `chunk` in one batched pass, for models with per-example
    /// formulas (without augmentation, which draws per item): `(sum, loss sum, correct, clipped)`.
    fn batched_private(&self, model: &M, chunk: &[usize], clip: f64) -> Option<(Vec<Tensor<1>>, f64, usize, usize)> {
        if self.augment.is_some() || chunk.is_empty() {
            return None;
        }
        let (x, y) = self.data.batch(chunk, self.norm, &self.autodiff);
        let (mut loss_sum, mut correct) = (0.0, 0);
        let task = self.data.task;
        let per = model.per_example_grads(x, |logits| {
            let (loss, c) = task.loss_and_correct(logits, y);
            // Inside Burn's per-example closure a failed read cannot return: it shows as a NaN loss, which
            // stops the run as diverged.
            (loss_sum, correct) = (device_scalar(loss.clone()).unwrap_or(f64::NAN), read_count(c).unwrap_or(0));
            loss
        })?;
        // Each example's norm over all parameters, read back once; then the scaled rows summed on the device.
        let squares = per.iter().map(|g| g.clone().square().sum_dim(1)).reduce(|a, b| a + b)?;
        let norms = owm_core::device_data(squares.sqrt()).ok()?.convert::<f64>().try_into_vec::<f64>().ok()?;
        let scales: Vec<f32> = norms.iter().map(|&n| if n > clip { (clip / n) as f32 } else { 1.0 }).collect();
        let clipped = scales.iter().filter(|&&s| s < 1.0).count();
        let device = per[0].device();
        let scale = Tensor::<2>::from_data(TensorData::new(scales, [chunk.len(), 1]), &device);
        let sum = per.into_iter().map(|g| (g * scale.clone()).sum_dim(0).flatten::<1>(0, 1)).collect();
        Some((sum, loss_sum, correct, clipped))
    }

    /// The clipped per-example gradient sum of `chunk`, one backward pass per example: the general method,
    /// for any model and with augmentation.
    fn looped_private(&self, model: &M, chunk: &[usize], clip: f64, k: u64) -> (Vec<Tensor<1>>, f64, usize, usize) {
        let inner = self.autodiff.clone().inner();
        let mut sum: Vec<Tensor<1>> = self.params.iter().map(|m| Tensor::zeros([m.shape.iter().product::<usize>()], &inner)).collect();
        let (mut loss_sum, mut correct, mut clipped) = (0.0, 0usize, 0usize);
        for &i in chunk {
            let (x, y) = match &self.augment {
                Some(aug) => {
                    let mut rng = Rng::derived(self.seed, &format!("augment/poisson-{k}/item-{i}"));
                    self.data.batch_augmented(&[i], self.norm, &self.autodiff, Some((aug, &mut rng)))
                }
                None => self.data.batch(&[i], self.norm, &self.autodiff),
            };
            let (loss, c) = self.data.task.loss_and_correct(model.forward(x), y);
            loss_sum += device_scalar(loss.clone()).unwrap_or(f64::NAN);
            correct += read_count(c).unwrap_or(0);
            let grads = GradientsParams::from_grads(loss.backward(), model);
            let grads: Vec<Option<Tensor<1>>> = flat_grads(model, &grads).into_iter().map(|(_, g)| g.map(Tensor::inner)).collect();
            let squares = grads.iter().flatten().map(|g| g.clone().square().sum()).reduce(|a, b| a + b);
            let norm = squares.map_or(0.0, |t| device_scalar(t).unwrap_or(f64::NAN).sqrt());
            let scale = if norm > clip { clip / norm } else { 1.0 };
            clipped += usize::from(scale < 1.0);
            for (s, g) in sum.iter_mut().zip(grads) {
                if let Some(g) = g {
                    *s = s.clone() + g.mul_scalar(scale);
                }
            }
        }
        (sum, loss_sum, correct, clipped)
    }

    /// For each of the model's tables that the items at `chunk` read: its parameter index, the ids that index
    /// it and the rows they read ([`Dataset::lookup_rows`], once per source of ids).
    fn table_rows(&self, chunk: &[usize]) -> Vec<(usize, LookupIds, Vec<u32>)> {
        let mut read: Vec<(LookupIds, Option<Vec<u32>>)> = Vec::new();
        let mut tables = Vec::new();
        for &(i, ids) in &self.lookups {
            let rows = match read.iter().find(|(s, _)| *s == ids) {
                Some((_, rows)) => rows.clone(),
                None => {
                    let rows = self.data.lookup_rows(chunk, ids);
                    read.push((ids, rows.clone()));
                    rows
                }
            };
            tables.extend(rows.map(|r| (i, ids, r)));
        }
        tables
    }

    fn batches(&mut self, sample: Sample) -> Vec<(Input, Tensor<1, Int>)> {
        match sample {
            Sample::Full => {
                let (data, norm, device) = (&self.data, self.norm, &self.device);
                let all: Vec<usize> = (0..data.len()).collect();
                self.full.get_or_insert_with(|| all.chunks(EVAL_CHUNK).map(|c| data.batch(c, norm, device)).collect()).clone()
            }
            Sample::Batch { size } => {
                let (chunk, _, _) = self.next_indices(size);
                vec![self.data.batch(&chunk, self.norm, &self.device)]
            }
        }
    }
}

/// Values in one all-reduce bucket of a gradient (128 KiB of `f32`): small enough that a model of a few
/// hundred thousand weights is summed in several buckets, each while this rank reads back the next, and large
/// enough that a bucket's latency (a few microseconds in shared memory) stays small beside its bytes.
pub(crate) const BUCKET_VALUES: usize = 1 << 15;

/// Sums one rank's share of a batch — its loss, correct count and gradients (`None`: not reached, or an empty
/// shard) — over every rank, in `f32` buckets ([`Collective::start_all_reduce`]): first `[loss, correct, one
/// flag per parameter]`, then the gradients' values, the last parameter's first (the order a backward pass
/// yields them, and PyTorch DDP's). A bucket is started once it holds [`BUCKET_VALUES`], so the ranks sum it
/// while this one reads back the next. A parameter gets a gradient when any rank's reached it; `f32` holds the
/// counts exactly (below 2²⁴) and the loss as the device computed it.
fn all_reduce_gradient(
    c: &dyn Collective,
    sizes: &[usize],
    device: &Device,
    loss: f64,
    correct: usize,
    grads: Vec<Option<Tensor<1>>>,
) -> owm_core::Result<(f64, usize, Vec<Option<Tensor<1>>>)> {
    let head = 2 + sizes.len();
    let mut bucket = Vec::with_capacity(BUCKET_VALUES);
    bucket.extend([loss as f32, correct as f32]);
    bucket.extend(grads.iter().map(|g| f32::from(u8::from(g.is_some()))));
    let mut started = Vec::new();
    for (g, &size) in grads.into_iter().zip(sizes).rev() {
        match g {
            Some(g) => bucket.extend(owm_core::host_f32(owm_core::device_data(g)?)),
            None => bucket.resize(bucket.len() + size, 0.0),
        }
        if bucket.len() >= BUCKET_VALUES {
            started.push(c.start_all_reduce(std::mem::take(&mut bucket))?);
        }
    }
    if !bucket.is_empty() {
        started.push(c.start_all_reduce(bucket)?);
    }
    let total = head + sizes.iter().sum::<usize>();
    let mut sum = Vec::with_capacity(total);
    for reduction in started {
        sum.extend(reduction.wait()?);
    }
    if sum.len() != total {
        return Err(owm_core::Error::Collective(format!("the gradient's sum holds {} values, not {total}", sum.len())));
    }
    let (flags, mut values) = sum.split_at(head);
    let mut grads = vec![None; sizes.len()];
    for (i, &size) in sizes.iter().enumerate().rev() {
        let (these, rest) = values.split_at(size);
        values = rest;
        grads[i] = (flags[2 + i] > 0.0).then(|| Tensor::<1>::from_data(TensorData::new(these.to_vec(), [size]), device));
    }
    Ok((f64::from(flags[0]), flags[1].round() as usize, grads))
}

/// A count read back with [`owm_core::device_scalar`] (0 when the tensor holds none).
fn read_count(t: Tensor<1, Int>) -> owm_core::Result<usize> {
    device_scalar(t).map(|v| v as usize)
}

fn fitness<M: Model>(model: &M, task: Task, batches: &[(Input, Tensor<1, Int>)]) -> owm_core::Result<Fitness> {
    let (mut loss, mut correct, mut items) = (0.0, 0usize, 0usize);
    for (x, y) in batches {
        items += y.dims()[0];
        let (l, c) = task.loss_and_correct(model.forward(x.clone()), y.clone());
        loss += device_scalar(l)?;
        correct += read_count(c)?;
    }
    let items = items.max(1) as f64;
    Ok(Fitness { loss: loss / items, accuracy: Some(correct as f64 / items) })
}

impl<M: Model> Objective for DatasetObjective<'_, M> {
    fn params(&self) -> &[ParamMeta] {
        &self.params
    }

    fn gradient(&mut self, params: &ParamSet) -> owm_core::Result<Gradient> {
        let (chunk, epoch, epoch_end) = self.next_indices(self.batch_size);
        let n = chunk.len();
        let batch = Some(owm_core::batch_digest(&chunk));
        // Each table takes part only as the rows the whole batch reads (every rank's shard), and the batch's ids
        // are renumbered to index them: forward, backward and gradient cost what the batch reads, not the table.
        let tables = self.table_rows(&chunk);
        let model = if tables.is_empty() {
            params.apply_to(self.model.clone())?
        } else {
            let mut index = vec![None; self.params.len()];
            for (i, _, rows) in &tables {
                let ids: Vec<i64> = rows.iter().map(|&r| i64::from(r)).collect();
                index[*i] = Some(Tensor::<1, Int>::from_data(TensorData::new(ids, [rows.len()]), &self.device));
            }
            params.apply_rows_to(self.model.clone(), &index)?
        };
        // This rank's items: the whole batch in one process.
        let mine = self.collective.as_ref().map_or(0..n, |c| shard(n, c.rank(), c.world()));
        let (mut value, mut correct, mut grads) = (0.0, 0, vec![None; self.params.len()]);
        if !mine.is_empty() {
            let (x, y) = match &self.augment {
                Some(aug) => {
                    // Across ranks each shard draws from its own place in the order (the same for every run with
                    // this many ranks; another rank count augments differently).
                    let at = self.cursor.offset - n + mine.start;
                    let mut rng = Rng::derived(self.seed, &format!("augment/epoch-{epoch}/at-{at}"));
                    self.data.batch_augmented(&chunk[mine.clone()], self.norm, &self.autodiff, Some((aug, &mut rng)))
                }
                None if !tables.is_empty() => {
                    let sources: Vec<(LookupIds, &[u32])> = tables.iter().map(|(_, ids, rows)| (*ids, rows.as_slice())).collect();
                    self.data.batch_with_rows(&chunk[mine.clone()], &self.autodiff, &sources)
                }
                None => self.data.batch(&chunk[mine.clone()], self.norm, &self.autodiff),
            };
            let (loss, right) = self.data.task.loss_and_correct(model.forward(x), y);
            // Divided by the whole batch: the shards' gradients add up to the batch mean's.
            let loss = loss.div_scalar(n as f64);
            // The backward pass is queued before the loss is read: on a GPU the read no longer stalls it.
            let g = GradientsParams::from_grads(loss.backward(), &model);
            grads = flat_grads(&model, &g).into_iter().map(|(_, g)| g.map(Tensor::inner)).collect();
            (value, correct) = (device_scalar(loss)?, read_count(right)?);
        }
        // A model of compact tables is not kept: the kept one has the tables' shapes, for evaluations.
        if tables.is_empty() {
            self.model = model;
        }
        let mut rows = vec![None; if tables.is_empty() { 0 } else { self.params.len() }];
        let mut sizes: Vec<usize> = self.params.iter().map(|m| m.shape.iter().product()).collect();
        for (i, _, r) in tables {
            sizes[i] = sizes[i] / self.params[i].shape[0].max(1) * r.len();
            rows[i] = Some(r);
        }
        if let Some(c) = &self.collective {
            (value, correct, grads) = all_reduce_gradient(c.as_ref(), &sizes, &self.device, value, correct, grads)?;
        }
        Ok(Gradient { loss: value, grads, items: n, correct: Some(correct), epoch, epoch_end, batch, rows })
    }

    /// Draws the batch with `Rng::derived(seed, "poisson/step-{k}")` for the k-th private batch, then takes
    /// every item's gradient — in one batched pass where the model has per-example formulas
    /// ([`Model::per_example_grads`]), else with one backward pass per item — clips each to
    /// `sample.clip` over all parameters and sums. A round of `1 / rate` batches counts as an epoch.
    fn private_gradient(&mut self, params: &ParamSet, sample: PrivateSample) -> owm_core::Result<PrivateGradient> {
        if self.collective.is_some() {
            return Err(owm_core::Error::Unsupported("differentially private training across several processes"));
        }
        let model = params.apply_to(self.model.clone())?;
        let k = self.cursor.private_steps;
        self.cursor.private_steps += 1;
        let mut rng = Rng::derived(self.seed, &format!("poisson/step-{k}"));
        let chunk: Vec<usize> = (0..self.data.len()).filter(|_| rng.next_f64() < sample.rate).collect();
        let per_epoch = (1.0 / sample.rate).round().max(1.0) as u64;
        let (epoch, epoch_end) = (k / per_epoch + 1, (k + 1).is_multiple_of(per_epoch));
        let (sum, loss_sum, correct, clipped) = match self.batched_private(&model, &chunk, sample.clip) {
            Some(done) => done,
            None => self.looped_private(&model, &chunk, sample.clip, k),
        };
        self.model = model;
        let items = chunk.len();
        let gradient = Gradient {
            // An empty draw has no loss to report; 0 keeps the run going (its noise still moves the weights).
            loss: if items == 0 { 0.0 } else { loss_sum / items as f64 },
            grads: sum.into_iter().map(Some).collect(),
            items,
            correct: Some(correct),
            epoch,
            epoch_end,
            batch: Some(owm_core::batch_digest(&chunk)),
            // Noise reaches every row: a private gradient is dense.
            rows: Vec::new(),
        };
        Ok(PrivateGradient { gradient, clipped })
    }

    fn evaluate(&mut self, candidates: &[Vec<f32>], sample: Sample) -> owm_core::Result<Vec<Fitness>> {
        let batches = self.batches(sample);
        let mine = self.collective.as_ref().map_or(0..candidates.len(), |c| shard(candidates.len(), c.rank(), c.world()));
        let sets = candidates[mine.clone()].iter().map(|c| self.eval_template.with_host(c, &self.device)).collect::<owm_core::Result<Vec<_>>>()?;
        let (model, task) = (&self.eval_model, self.data.task);
        let fitnesses: Vec<Fitness> =
            sets.par_iter().map(|set| set.apply_to(model.clone()).and_then(|m| fitness(&m, task, &batches))).collect::<owm_core::Result<_>>()?;
        let Some(c) = &self.collective else { return Ok(fitnesses) };
        // Each candidate's (loss, accuracy, has accuracy), zeros where another rank evaluated it: adding zeros
        // leaves every value as its rank computed it.
        let mut buffer = vec![0f64; 3 * candidates.len()];
        for (i, f) in mine.zip(&fitnesses) {
            buffer[3 * i..3 * i + 3].copy_from_slice(&[f.loss, f.accuracy.unwrap_or(0.0), f64::from(u8::from(f.accuracy.is_some()))]);
        }
        c.all_reduce_sum(&mut buffer)?;
        Ok(buffer.chunks(3).map(|f| Fitness { loss: f[0], accuracy: (f[2] > 0.0).then_some(f[1]) }).collect())
    }

    fn train_items(&self) -> usize {
        self.data.len()
    }

    fn full_batch(&self) -> bool {
        self.batch_size >= self.data.len()
    }
}
