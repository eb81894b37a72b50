use burn::module::Param;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;

use crate::{Error, Result};

/// The embeddings of field `f` of categorical ids `[batch, fields]`: `[batch, dim]`.
fn field(ids: &Tensor<2, Int>, f: usize, table: &Embedding) -> Tensor<2> {
    let n = ids.dims()[0];
    let e = table.forward(ids.clone().slice([0..n, f..f + 1])); // [n, 1, dim]
    let dim = e.dims()[2];
    e.reshape([n, dim])
}

/// The sum of per-field terms; every constructor here refuses a model without fields.
#[allow(clippy::expect_used, reason = "every constructor refuses a model without fields")]
fn sum(terms: impl Iterator<Item = Tensor<2>>) -> Tensor<2> {
    terms.reduce(|a, b| a + b).expect("constructors refuse models without fields")
}

fn no_fields(cardinalities: &[usize]) -> Result<()> {
    if cardinalities.is_empty() { Err(Error::NoFields) } else { Ok(()) }
}

fn tables(cardinalities: &[usize], dim: usize, device: &Device) -> Vec<Embedding> {
    cardinalities.iter().map(|&c| EmbeddingConfig::new(c, dim).init(device)).collect()
}

fn zero_bias(outputs: usize, device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::zeros([outputs], device))
}

/// Logistic regression over one-hot categorical ids: one weight per (field, id) and output, plus a bias —
/// the same model as a linear layer over the one-hot encoding, without materialising it.
///
/// Parameters: `fields.{f}.weight` (`[ids of field f, outputs]`, row `i` the weights of id `i`), `bias`.
#[derive(Module, Debug)]
pub struct IdLogistic {
    /// One weight table per field.
    pub fields: Vec<Embedding>,
    /// `[outputs]`.
    pub bias: Param<Tensor<1>>,
}

impl IdLogistic {
    /// Logistic regression over fields with `cardinalities` ids each.
    ///
    /// # Errors
    ///
    /// [`Error::NoFields`] for no fields.
    pub fn new(cardinalities: &[usize], outputs: usize, device: &Device) -> Result<Self> {
        no_fields(cardinalities)?;
        Ok(Self { fields: tables(cardinalities, outputs, device), bias: zero_bias(outputs, device) })
    }

    /// Logits for a batch of ids.
    ///
    /// # Shapes
    ///
    /// `ids: [batch, fields]` → `[batch, outputs]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        sum(self.fields.iter().enumerate().map(|(f, t)| field(&ids, f, t))) + self.bias.val().unsqueeze_dim(0)
    }
}

/// Biased matrix factorisation for (user, item) pairs: `⟨u, i⟩ + b_u + b_i + b`, one logit.
///
/// Parameters: `users.weight` (`[users, dim]`), `items.weight` (`[items, dim]`), `user_bias.weight`
/// (`[users, 1]`), `item_bias.weight` (`[items, 1]`), `bias` (`[1]`).
///
/// ## References
///
/// Koren, Bell and Volinsky, "Matrix Factorization Techniques for Recommender Systems", Computer 42(8), 2009.
#[derive(Module, Debug)]
pub struct MatrixFactorization {
    /// User factors.
    pub users: Embedding,
    /// Item factors.
    pub items: Embedding,
    /// Per-user offset.
    pub user_bias: Embedding,
    /// Per-item offset.
    pub item_bias: Embedding,
    /// Global offset.
    pub bias: Param<Tensor<1>>,
}

impl MatrixFactorization {
    /// Factors of width `dim` for `users` users and `items` items.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroWidth`] for `dim == 0`.
    pub fn new(users: usize, items: usize, dim: usize, device: &Device) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        Ok(Self {
            users: EmbeddingConfig::new(users, dim).init(device),
            items: EmbeddingConfig::new(items, dim).init(device),
            user_bias: EmbeddingConfig::new(users, 1).init(device),
            item_bias: EmbeddingConfig::new(items, 1).init(device),
            bias: zero_bias(1, device),
        })
    }

    /// One logit per (user, item) pair.
    ///
    /// # Shapes
    ///
    /// `ids: [batch, 2]` (user, item) → `[batch, 1]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        let (u, i) = (field(&ids, 0, &self.users), field(&ids, 1, &self.items));
        let dot = (u * i).sum_dim(1);
        dot + field(&ids, 0, &self.user_bias) + field(&ids, 1, &self.item_bias) + self.bias.val().unsqueeze_dim(0)
    }
}

/// A factorisation machine over categorical fields (user, item, side features): a bias, one weight per id,
/// and every pairwise interaction `⟨v_a, v_b⟩` of the fields' factor vectors, computed in linear time as
/// `½ Σ_d [(Σ_f v_fd)² − Σ_f v_fd²]`; one logit.
///
/// Parameters: `linear.{f}.weight` (`[ids, 1]`), `factors.{f}.weight` (`[ids, dim]`), `bias` (`[1]`).
///
/// ## References
///
/// Rendle, "Factorization Machines", ICDM 2010.
#[derive(Module, Debug)]
pub struct FactorizationMachine {
    /// Per-id weights, one table per field.
    pub linear: Vec<Embedding>,
    /// Per-id factor vectors, one table per field.
    pub factors: Vec<Embedding>,
    /// Global offset.
    pub bias: Param<Tensor<1>>,
}

impl FactorizationMachine {
    /// A factorisation machine of factor width `dim` over fields with `cardinalities` ids.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroWidth`] for `dim == 0`; [`Error::NoFields`] for no fields.
    pub fn new(cardinalities: &[usize], dim: usize, device: &Device) -> Result<Self> {
        no_fields(cardinalities)?;
        if dim == 0 {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        Ok(Self { linear: tables(cardinalities, 1, device), factors: tables(cardinalities, dim, device), bias: zero_bias(1, device) })
    }

    /// One logit per row of ids.
    ///
    /// # Shapes
    ///
    /// `ids: [batch, fields]` → `[batch, 1]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        let linear = sum(self.linear.iter().enumerate().map(|(f, t)| field(&ids, f, t)));
        let v: Vec<Tensor<2>> = self.factors.iter().enumerate().map(|(f, t)| field(&ids, f, t)).collect();
        let (total, squares) = (sum(v.iter().cloned()), sum(v.into_iter().map(|x| x.powi_scalar(2))));
        let pairs = (total.powi_scalar(2) - squares).sum_dim(1).mul_scalar(0.5);
        linear + pairs + self.bias.val().unsqueeze_dim(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: Vec<i64>, device: &Device) -> Tensor<2, Int> {
        let n = v.len() / 2;
        Tensor::from_data(TensorData::new(v, [n, 2]), device)
    }

    fn read(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn mf_should_score_dot_plus_biases() {
        let device = Device::flex();
        let mf = owm_core::replace_params(MatrixFactorization::new(2, 2, 2, &device).unwrap(), |path, shape| {
            let v = match path {
                "users.weight" => vec![1.0, 2.0, 3.0, 4.0],
                "items.weight" => vec![1.0, 0.0, 0.0, 1.0],
                "user_bias.weight" => vec![0.5, -0.5],
                "item_bias.weight" => vec![0.25, 0.0],
                _ => vec![10.0],
            };
            Ok(Some(TensorData::new(v, shape.to_vec())))
        })
        .unwrap();
        // user 1 · item 1 = 4, − 0.5 + 0 + 10; user 0 · item 0 = 1, + 0.5 + 0.25 + 10.
        assert_eq!(read(mf.forward(ids(vec![1, 1, 0, 0], &device))), [13.5, 11.75]);
    }

    #[test]
    fn fm_should_match_the_pairwise_sum() {
        let device = Device::flex();
        let fm = owm_core::replace_params(FactorizationMachine::new(&[2, 3], 2, &device).unwrap(), |path, shape| {
            let v = match path {
                "linear.0.weight" => vec![1.0, 2.0],
                "linear.1.weight" => vec![0.0, 0.0, 3.0],
                "factors.0.weight" => vec![1.0, 1.0, 2.0, -1.0],
                "factors.1.weight" => vec![0.0, 0.0, 0.0, 0.0, 3.0, 5.0],
                _ => vec![0.5],
            };
            Ok(Some(TensorData::new(v, shape.to_vec())))
        })
        .unwrap();
        // (user 1, item 2): 2 + 3 + ⟨(2, −1), (3, 5)⟩ + 0.5 = 5 + 1 + 0.5.
        assert_eq!(read(fm.forward(ids(vec![1, 2], &device))), [6.5]);
        let lr = IdLogistic::new(&[2, 3], 2, &device).unwrap();
        assert!(matches!(IdLogistic::new(&[], 2, &device), Err(Error::NoFields)));
        assert_eq!(lr.forward(ids(vec![1, 2, 0, 0], &device)).dims(), [2, 2]);
    }
}
