//! Properties of init plans: what the records say is what the plan drew, and the plan re-applied from the
//! records' seed draws the same weights.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;
use owm_init::{InitPlan, InitRule, InitStrategy};
use proptest::prelude::*;

#[derive(Module, Debug)]
struct Net {
    hidden: Linear,
    out: Linear,
}

fn net(sizes: (usize, usize, usize), device: &Device) -> Net {
    Net { hidden: LinearConfig::new(sizes.0, sizes.1).init(device), out: LinearConfig::new(sizes.1, sizes.2).init(device) }
}

fn strategy() -> impl Strategy<Value = InitStrategy> {
    prop_oneof![
        Just(InitStrategy::Zeros),
        (-2.0f64..2.0, 0.0f64..3.0).prop_map(|(mean, std)| InitStrategy::Normal { mean, std }),
        Just(InitPlan::he_uniform().rules[0].strategy.clone()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn records_should_describe_the_weights_and_the_plan_should_redraw_them(
        sizes in (1usize..9, 1usize..9, 1usize..5),
        seed in any::<u64>(),
        hidden in strategy(),
        rest in strategy(),
    ) {
        let device = Device::flex();
        let plan = InitPlan { rules: vec![
            InitRule { pattern: "hidden.*".into(), strategy: hidden },
            InitRule { pattern: "*".into(), strategy: rest },
        ] };
        let (first, records) = plan.apply(net(sizes, &device), seed).unwrap();
        let weights = owm_core::param_data(&first);
        prop_assert_eq!(records.len(), weights.len());
        for (record, (path, data)) in records.iter().zip(&weights) {
            prop_assert_eq!(&record.path, path);
            prop_assert_eq!(&record.shape, &data.shape().to_vec());
            prop_assert_eq!(record.seed, owm_init::param_seed(seed, path));
            let values = owm_core::host_f32(data.clone());
            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
            prop_assert!((record.mean - mean).abs() <= 1e-6 * (1.0 + mean.abs()), "{} mean {} vs {}", path, record.mean, mean);
        }
        // A fresh module (other random values) given the same plan and root seed gets the same weights.
        let (again, again_records) = plan.apply(net(sizes, &device), seed).unwrap();
        prop_assert_eq!(owm_core::param_data(&again), weights);
        prop_assert_eq!(again_records, records);
    }
}
