//! Embedding tables at the cost of the rows a batch reads: the pipeline's objective gives each table model
//! only the rows its batch reads (ids renumbered to index them), and the gradient it returns for those rows is
//! the whole model's, which is zero everywhere else.

use burn::optim::GradientsParams;
use burn::prelude::*;
use owm_core::{Objective, ParamSet, Rng};
use owm_data::{Dataset, Inputs};
use owm_init::InitPlan;
use owm_models::ModelConfig;
use owm_train::DatasetObjective;

/// 40 items of `inputs`' kind with seeded ids (`draw(rng, column)`), in `classes` classes.
fn dataset(columns: usize, classes: usize, mut draw: impl FnMut(&mut Rng, usize) -> u32, inputs: impl FnOnce(Vec<u32>) -> Inputs) -> Dataset {
    let mut rng = Rng::new(5);
    let ids: Vec<u32> = (0..40 * columns).map(|i| draw(&mut rng, i % columns)).collect();
    let labels: Vec<usize> = (0..40).map(|_| rng.below(classes as u64) as usize).collect();
    let names = (0..classes).map(|c| c.to_string()).collect();
    let data = Dataset::with_inputs("tables", inputs(ids), names, labels).unwrap();
    if classes == 2 { data.binary().unwrap() } else { data }
}

/// Yes/no items of ids of fields with `cards` ids each.
fn ids(cards: &[u32]) -> Dataset {
    let cardinalities = cards.iter().map(|&c| c as usize).collect();
    dataset(cards.len(), 2, |rng, c| rng.below(u64::from(cards[c])) as u32, |ids| Inputs::Ids { cardinalities, ids })
}

/// Token sequences of 6 over a vocabulary of 30, with padding at the ends, (user, item) pairs of 7 and 9 ids,
/// and id triples of fields of 7, 9 and 4 ids, each with the models that read it.
fn cases() -> Vec<(Dataset, Vec<ModelConfig>)> {
    let tokens =
        dataset(6, 3, |rng, c| if c >= 4 && rng.below(2) == 0 { 0 } else { 1 + rng.below(29) as u32 }, |ids| Inputs::Tokens { len: 6, vocab: 30, ids });
    vec![
        (tokens, vec![ModelConfig::EmbeddingBag { dim: 4 }, ModelConfig::TextCnn { dim: 4, filters: 3, widths: vec![2, 3] }]),
        (ids(&[7, 9]), vec![ModelConfig::MatrixFactorization { dim: 3 }]),
        (ids(&[7, 9, 4]), vec![ModelConfig::FactorizationMachine { dim: 3 }, ModelConfig::Logistic]),
    ]
}

/// The whole model's gradient of the mean loss over all of `data`, per parameter.
fn whole_gradient(model: &owm_models::Classifier, data: &Dataset, device: &Device) -> Vec<Vec<f32>> {
    let all: Vec<usize> = (0..data.len()).collect();
    let (x, y) = data.batch(&all, None, device);
    let (loss, _) = data.task.loss_and_correct(model.forward(x), y);
    let loss = loss.div_scalar(data.len() as f64);
    let grads = GradientsParams::from_grads(loss.backward(), model);
    owm_core::flat_grads(model, &grads).into_iter().map(|(_, g)| owm_core::host_f32(g.unwrap().inner().into_data())).collect()
}

#[test]
fn a_batch_should_give_its_tables_the_whole_models_gradient_on_the_rows_it_reads() {
    let device = Device::flex();
    for (data, models) in cases() {
        for config in models {
            let model = config.init(&data.input_spec(), data.task.outputs(data.num_classes()), &device.clone().autodiff()).unwrap();
            let (model, _) = InitPlan::he_uniform().apply(model, 3).unwrap();
            assert!(!model.lookups().is_empty(), "{config:?} declares its tables");
            let params = ParamSet::of(&model);
            let want = whole_gradient(&model, &data, &device.clone().autodiff());
            // One batch of the whole split: the same mean loss, its terms summed in another order.
            let mut objective = DatasetObjective::new(model, &data, None, &device, 7, data.len());
            let gradient = objective.gradient(&params).unwrap();
            let tables: Vec<bool> = gradient.rows.iter().map(Option::is_some).collect();
            assert!(tables.iter().any(|&t| t), "{config:?}: the batch's tables come with their rows");
            let dense = gradient.dense(params.metas(), &device).unwrap();
            for (((meta, got), want), table) in params.metas().iter().zip(dense).zip(&want).zip(tables) {
                let got = owm_core::host_f32(got.unwrap().into_data());
                let scale = want.iter().fold(1e-3f32, |m, w| m.max(w.abs()));
                let gap = got.iter().zip(want).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(gap <= 1e-5 * scale, "{config:?} {}: gradient gap {gap} (table: {table})", meta.path);
            }
        }
    }
}

/// The rows a batch reads are exactly where the whole model's gradient can be non-zero: a declared table the
/// model read some other way would show gradient outside them.
#[test]
fn a_tables_gradient_should_be_zero_outside_the_rows_its_batch_reads() {
    let device = Device::flex();
    for (data, models) in cases() {
        for config in models {
            let model = config.init(&data.input_spec(), data.task.outputs(data.num_classes()), &device.clone().autodiff()).unwrap();
            let half: Vec<usize> = (0..data.len() / 2).collect();
            let part = data.subset("half", &half);
            let want = whole_gradient(&model, &part, &device.clone().autodiff());
            let metas = ParamSet::of(&model).metas().to_vec();
            for lookup in model.lookups() {
                let i = metas.iter().position(|m| m.path == lookup.path).unwrap();
                let rows = part.lookup_rows(&half, lookup.ids).unwrap();
                let width = metas[i].shape[1..].iter().product::<usize>();
                for (row, values) in want[i].chunks(width).enumerate() {
                    if rows.binary_search(&(row as u32)).is_err() {
                        assert!(values.iter().all(|&v| v == 0.0), "{config:?} {}: row {row} unread but with gradient {values:?}", lookup.path);
                    }
                }
            }
        }
    }
}
