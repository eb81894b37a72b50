//! Batches: a dataset's items as tensors on a device, and, for a model with embedding tables, the rows a batch
//! reads and its ids renumbered to index them.

use burn::prelude::*;
use owm_core::{Input, InputSpec};

use super::{Dataset, Inputs};
use crate::{Augment, Normalizer};

impl Dataset {
    /// The rows of a [`owm_core::Lookup`] table that the items at `indices` read, ascending and distinct, from
    /// the ids held on the host (a token table's always include the padding row 0, so that padding keeps id 0
    /// when [`Dataset::batch_with_rows`] renumbers); `None` when these items hold no such ids (a field past
    /// the last, or no ids at all).
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn lookup_rows(&self, indices: &[usize], ids: owm_core::LookupIds) -> Option<Vec<u32>> {
        let mut rows: Vec<u32> = match (&self.inputs, ids) {
            (Inputs::Tokens { len, ids: all, .. }, owm_core::LookupIds::Tokens) => {
                std::iter::once(0).chain(indices.iter().flat_map(|&i| &all[i * len..(i + 1) * len]).copied()).collect()
            }
            (Inputs::Ids { cardinalities, ids: all }, owm_core::LookupIds::Field(f)) if f < cardinalities.len() => {
                indices.iter().map(|&i| all[i * cardinalities.len() + f]).collect()
            }
            _ => return None,
        };
        rows.sort_unstable();
        rows.dedup();
        Some(rows)
    }

    /// A batch of the items at `indices` on `device`, numeric inputs normalised by `norm` when given, built
    /// from one buffer (no per-item allocation).
    ///
    /// # Shapes
    ///
    /// Returns inputs `[batch, ...item shape]` ([`Input::Image`] for 3-D items, [`Input::Dense`] for features,
    /// [`Input::Tokens`] / [`Input::Ids`] for ids) and labels `[batch]`.
    ///
    /// # Panics
    ///
    /// If an index is out of range, or `norm` was fitted on data with another feature count (use
    /// [`Normalizer::check`] first).
    pub fn batch(&self, indices: &[usize], norm: Option<&Normalizer>, device: &Device) -> (Input, Tensor<1, Int>) {
        self.batch_augmented(indices, norm, device, None)
    }

    /// [`Dataset::batch`] with each image augmented (before normalisation) by `augment`, drawing from its
    /// generator; other inputs are not augmented.
    ///
    /// # Panics
    ///
    /// As [`Dataset::batch`].
    pub fn batch_augmented(
        &self,
        indices: &[usize],
        norm: Option<&Normalizer>,
        device: &Device,
        mut augment: Option<(&Augment, &mut owm_core::Rng)>,
    ) -> (Input, Tensor<1, Int>) {
        let f = self.feature_len();
        let n = indices.len();
        let labels: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
        let input = match &self.inputs {
            Inputs::Tokens { ids, .. } => Input::Tokens(self.id_batch(ids, indices, device, &|_, id| id)),
            Inputs::Ids { ids, .. } => Input::Ids(self.id_batch(ids, indices, device, &|_, id| id)),
            Inputs::Dense { .. } | Inputs::Pixels { .. } => {
                let mut buf = Vec::with_capacity(n * f);
                for &i in indices {
                    let start = buf.len();
                    self.item_into(i, &mut buf);
                    if let (Some((aug, rng)), InputSpec::Image { shape }) = (&mut augment, self.input_spec()) {
                        aug.apply(&mut buf[start..], shape, rng);
                    }
                    if let Some(norm) = norm {
                        for ((x, m), s) in buf[start..].iter_mut().zip(&norm.mean).zip(&norm.std) {
                            *x = (*x - m) / s;
                        }
                    }
                }
                match self.input_spec() {
                    InputSpec::Image { shape: [c, h, w] } => Input::Image(Tensor::<4>::from_data(TensorData::new(buf, [n, c, h, w]), device)),
                    _ => Input::Dense(Tensor::<2>::from_data(TensorData::new(buf, [n, f]), device)),
                }
            }
        };
        (input, labels)
    }

    /// [`Dataset::batch`] for a model given only the rows of its tables that a batch reads
    /// ([`owm_core::ParamSet::apply_rows_to`]): the ids of each source in `tables` are renumbered to their
    /// positions in its rows ([`Dataset::lookup_rows`] of this batch, or of a larger batch this one is part
    /// of), so that they index the compact tables; other ids are left as they are.
    ///
    /// # Panics
    ///
    /// As [`Dataset::batch`], and if an id is not among its source's rows.
    pub fn batch_with_rows(&self, indices: &[usize], device: &Device, tables: &[(owm_core::LookupIds, &[u32])]) -> (Input, Tensor<1, Int>) {
        let fields = match &self.inputs {
            Inputs::Ids { cardinalities, .. } => cardinalities.len(),
            _ => 0,
        };
        // The rows of each column of an item's ids, where a table reads that column.
        let columns: Vec<Option<&[u32]>> = (0..self.feature_len())
            .map(|c| {
                let source = if fields > 0 { owm_core::LookupIds::Field(c) } else { owm_core::LookupIds::Tokens };
                tables.iter().find(|(s, _)| *s == source).map(|(_, rows)| *rows)
            })
            .collect();
        #[allow(clippy::expect_used, reason = "the rows of a batch hold every id it reads, as documented")]
        let renumber = |c: usize, id: u32| match columns[c] {
            Some(rows) => rows.binary_search(&id).expect("an id among its source's rows") as u32,
            None => id,
        };
        let input = match &self.inputs {
            Inputs::Tokens { ids, .. } => Input::Tokens(self.id_batch(ids, indices, device, &renumber)),
            Inputs::Ids { ids, .. } => Input::Ids(self.id_batch(ids, indices, device, &renumber)),
            Inputs::Dense { .. } | Inputs::Pixels { .. } => return self.batch(indices, None, device),
        };
        let labels: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        (input, Tensor::from_data(TensorData::new(labels, [indices.len()]), device))
    }

    /// `[batch, columns]` of the items at `indices` of the row-major `ids`, each id of column `c` as `map(c, id)`.
    fn id_batch(&self, ids: &[u32], indices: &[usize], device: &Device, map: &dyn Fn(usize, u32) -> u32) -> Tensor<2, Int> {
        let (f, n) = (self.feature_len(), indices.len());
        let mut buf = Vec::with_capacity(n * f);
        for &i in indices {
            buf.extend(ids[i * f..(i + 1) * f].iter().enumerate().map(|(c, &t)| i64::from(map(c, t))));
        }
        Tensor::from_data(TensorData::new(buf, [n, f]), device)
    }
}
