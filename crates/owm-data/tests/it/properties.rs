//! Properties of the normaliser: fit, apply and serialise round-trip.

use burn::tensor::Device;
use owm_core::Input;
use owm_data::{Dataset, Inputs, NormalizeBy, Normalizer};
use proptest::prelude::*;

/// 2 to 30 items of 1 to 6 features.
fn dense() -> impl Strategy<Value = (usize, Vec<f32>)> {
    (1usize..7, 2usize..31).prop_flat_map(|(features, items)| (Just(features), prop::collection::vec(-1e3f32..1e3, features * items)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_fitted_normaliser_should_centre_and_scale_and_serialise_losslessly((features, values) in dense()) {
        let items = values.len() / features;
        let labels = (0..items).map(|i| i % 2).collect();
        let data = Dataset::with_inputs("p", Inputs::Dense { shape: vec![features], values: values.clone() }, vec!["a".into(), "b".into()], labels).unwrap();
        let norm = Normalizer::fit_by(&data, NormalizeBy::Feature).unwrap();
        let again: Normalizer = serde_json::from_str(&serde_json::to_string(&norm).unwrap()).unwrap();
        prop_assert_eq!(&again, &norm);
        let device = Device::flex();
        let all: Vec<usize> = (0..items).collect();
        let batch = |n: &Normalizer| match data.batch(&all, Some(n), &device).0 {
            Input::Dense(x) => owm_core::host_f32(x.into_data()),
            other => panic!("{other:?}"),
        };
        let scaled = batch(&norm);
        prop_assert_eq!(batch(&again), scaled.clone());
        for f in 0..features {
            let column: Vec<f64> = (0..items).map(|i| f64::from(values[i * features + f])).collect();
            let mean = column.iter().sum::<f64>() / items as f64;
            let std = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / items as f64).sqrt();
            let out: Vec<f64> = (0..items).map(|i| f64::from(scaled[i * features + f])).collect();
            let out_mean = out.iter().sum::<f64>() / items as f64;
            prop_assert!(out_mean.abs() < 1e-3, "feature {} mean {}", f, out_mean);
            // A (near-)constant feature keeps std 1, as scikit-learn's StandardScaler does.
            if std > 1e-3 {
                let out_std = (out.iter().map(|v| (v - out_mean).powi(2)).sum::<f64>() / items as f64).sqrt();
                prop_assert!((out_std - 1.0).abs() < 1e-3, "feature {} std {}", f, out_std);
            }
        }
    }
}
