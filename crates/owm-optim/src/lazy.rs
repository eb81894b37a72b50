//! Lazy updates of the tables a model reads by row (embeddings, [`owm_core::Lookup`]): a step moves, and
//! traces, only the rows its batch read, as `torch.optim.SparseAdam` and TensorFlow's `LazyAdam` do.
//!
//! Every stage of a lazy chain sees those rows alone, of the gradient, the weights and its own state
//! ([`crate::TransformContext::take`] gathers them, [`crate::TransformContext::put`] writes them back), so each
//! built-in or user transform becomes lazy unchanged: the other rows' weights and state wait until a batch
//! reads them. For plain SGD that is the dense update exactly; for moment methods it is the lazy variant.
//!
//! Architecture Invariant: a lazy step's optimiser work and statistics grow with the rows a batch read, not with
//! a table's size: rows are gathered and written back in place, and a table's weight norm is carried from
//! step to step (measured in full once, then updated by the rows that changed).

use crate::{Error, Result, Transform};

/// The rules of lazy updates for a chain's `transforms`: each transform must mean the same per row lazily as
/// densely, but for the waiting rows.
pub(crate) fn check_lazy(transforms: &[Transform]) -> Result<()> {
    for t in transforms {
        let why = match *t {
            Transform::Accumulate { .. } => "sums the gradients of batches that read different rows, and would apply only the last batch's rows",
            Transform::WeightDecay { weight_decay } if weight_decay > 0.0 => {
                "would decay only the rows a batch reads (torch.optim.SparseAdam has no weight decay either); leave the tables undecayed or update them densely"
            }
            Transform::AdaGrad { initial_accumulator_value, .. } if initial_accumulator_value > 0.0 => {
                "starts the rows no batch has read yet at a zero sum, not at initial_accumulator_value; use 0 or dense updates"
            }
            _ => continue,
        };
        return Err(Error::Lazy { transform: t.kind(), why });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use owm_core::{LayerStats, ParamSet, TraceEvent};

    use super::*;
    use crate::testing::Table;
    use crate::{Chain, ChainConfig, Optimizer, StepContext, layer_stats};

    fn host(t: &Tensor<1>) -> Vec<f32> {
        owm_core::host_f32(t.clone().into_data())
    }

    fn chain(transforms: Vec<Transform>, lazy: bool) -> Chain {
        Chain::new("test", ChainConfig { lazy, ..ChainConfig::new(0.1, transforms) }).unwrap()
    }

    fn adam() -> Vec<Transform> {
        vec![Transform::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, Transform::Lr]
    }

    /// Runs `steps` steps (statistics at the steps `stats` allows) and returns the weights after each.
    fn run(
        chain: &mut Chain,
        objective: &mut Table,
        mut params: ParamSet,
        steps: std::ops::RangeInclusive<u64>,
        stats: impl Fn(u64) -> bool,
        events: &mut Vec<TraceEvent>,
    ) -> Vec<ParamSet> {
        let mut after = Vec::new();
        for step in steps {
            params = chain.step(params, objective, StepContext { step, layer_stats: stats(step) }, events).unwrap().params;
            after.push(params.clone());
        }
        after
    }

    #[test]
    fn lazy_sgd_should_be_dense_sgd_bit_for_bit() {
        let schedule = vec![vec![0, 2], vec![5], vec![1, 2, 3]];
        let mut weights = Vec::new();
        for lazy in [false, true] {
            let mut objective = Table::new(schedule.clone());
            let start = objective.start();
            let after = run(&mut chain(vec![Transform::Lr], lazy), &mut objective, start, 1..=6, |_| true, &mut Vec::new());
            weights.push(after.last().unwrap().to_host());
        }
        assert_eq!(weights[0], weights[1]);
    }

    #[test]
    fn lazy_adam_should_leave_unread_rows_and_their_moments_alone() {
        let mut objective = Table::new(vec![vec![0, 1], vec![2]]);
        let start = objective.start();
        let mut lazy = chain(adam(), true);
        let after = run(&mut lazy, &mut objective, start.clone(), 1..=1, |_| true, &mut Vec::new()).remove(0);
        let moments = lazy.inspect();
        let later = run(&mut lazy, &mut objective, after.clone(), 2..=2, |_| true, &mut Vec::new()).remove(0);
        let (one, two) = (host(&after.tensors()[0]), host(&later.tensors()[0]));
        assert_eq!(one[..6], two[..6], "rows 0 and 1, not read at step 2, stay where step 1 left them");
        assert_eq!(lazy.inspect()["0/0/t.weight/m"][..6], moments["0/0/t.weight/m"][..6], "and so do their moments");
        assert_eq!(two[9..], host(&start.tensors()[0])[9..], "rows 3 to 5 were never read");
        // Row 2's first update comes at step 2, with step 2's bias correction (as torch.optim.SparseAdam).
        let (b1, b2, lr) = (0.9f64, 0.999f64, 0.1f64);
        for c in 0..3 {
            let (w, g) = (f64::from(one[6 + c]), f64::from(one[6 + c]) - 2.0);
            let (m, v) = ((1.0 - b1) * g, (1.0 - b2) * g * g);
            let want = w - lr * (m / (1.0 - b1 * b1)) / ((v / (1.0 - b2 * b2)).sqrt() + 1e-8);
            assert!((f64::from(two[6 + c]) - want).abs() < 1e-6, "row 2, column {c}: {} against {want}", two[6 + c]);
        }
    }

    /// The table's statistics from its rows and its carried norm match those of the whole tensors (relative
    /// 1e-5: f32 sums of different extents), including after a step without statistics.
    #[test]
    fn lazy_statistics_should_match_those_of_the_whole_table() {
        let schedule = vec![vec![0, 2], vec![5], vec![1, 2, 3], vec![4]];
        let mut objective = Table::new(schedule.clone());
        let mut params = objective.start();
        let mut lazy = chain(adam(), true);
        for step in 1..=6u64 {
            let mut events = Vec::new();
            let rows = &schedule[(step as usize - 1) % schedule.len()];
            let grad = Table::dense_gradient(&params, rows);
            let before = params.clone();
            params = run(&mut lazy, &mut objective, params, step..=step, |s| s != 4, &mut events).remove(0);
            let TraceEvent::Step(record) = &events[0] else { panic!("a step record") };
            if step == 4 {
                assert!(record.layers.is_empty());
                continue;
            }
            let t = |p: &ParamSet| vec![("t.weight".to_string(), p.tensors()[0].clone())];
            let grad = Tensor::<1>::from_data(TensorData::new(grad, [18]), &Device::flex());
            let whole: LayerStats = layer_stats(t(&before), vec![("t.weight".into(), Some(grad))], t(&params)).unwrap().remove(0);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs().max(1e-3);
            for ((name, a), (_, b)) in record.layers[0].named().into_iter().zip(whole.named()) {
                assert!(close(a, b), "step {step}, {name}: {a} from the rows against {b} from the whole table");
            }
        }
    }

    #[test]
    fn a_lazy_chain_should_resume_bit_for_bit() {
        let schedule = vec![vec![0, 2], vec![5], vec![1, 2, 3]];
        let (mut whole, mut halves) = (Vec::new(), Vec::new());
        let mut objective = Table::new(schedule.clone());
        let start = objective.start();
        let end = run(&mut chain(adam(), true), &mut objective, start.clone(), 1..=6, |_| true, &mut whole).pop().unwrap();
        let mut objective = Table::new(schedule);
        let mut first = chain(adam(), true);
        let middle = run(&mut first, &mut objective, start, 1..=3, |_| true, &mut halves).pop().unwrap();
        let mut second = chain(adam(), true);
        second.load_state(&first.state(), &middle).unwrap();
        let resumed = run(&mut second, &mut objective, middle, 4..=6, |_| true, &mut halves).pop().unwrap();
        assert_eq!(resumed.to_host(), end.to_host());
        assert_eq!(halves, whole, "the same records, statistics included");
    }

    #[test]
    fn lazy_updates_refuse_accumulation() {
        assert!(matches!(check_lazy(&[Transform::Accumulate { steps: 2 }, Transform::Lr]), Err(Error::Lazy { transform: "accumulate", .. })));
    }

    #[test]
    fn lazy_updates_refuse_weight_decay() {
        assert!(matches!(check_lazy(&[Transform::WeightDecay { weight_decay: 0.01 }, Transform::Lr]), Err(Error::Lazy { transform: "weight_decay", .. })));
        assert!(check_lazy(&[Transform::WeightDecay { weight_decay: 0.0 }, Transform::Lr]).is_ok());
    }

    #[test]
    fn lazy_updates_refuse_a_starting_adagrad_sum() {
        let t = Transform::AdaGrad { eps: 1e-10, initial_accumulator_value: 0.1 };
        assert!(matches!(check_lazy(&[t, Transform::Lr]), Err(Error::Lazy { transform: "ada_grad", .. })));
    }
}
