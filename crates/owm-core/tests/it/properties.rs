//! Properties of the flat view of parameters that every optimiser works on.

use burn::tensor::{Device, Tensor, TensorData};
use owm_core::{ParamMeta, ParamSet};
use proptest::prelude::*;

/// Shapes of 1 to 4 parameters of rank 1 or 2, and values for all of them.
fn params() -> impl Strategy<Value = (Vec<Vec<usize>>, Vec<f32>)> {
    prop::collection::vec(prop::collection::vec(1usize..6, 1..3), 1..5).prop_flat_map(|shapes| {
        let n: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        (Just(shapes), prop::collection::vec(-1e6f32..1e6, n))
    })
}

fn set(shapes: &[Vec<usize>], values: &[f32], device: &Device) -> ParamSet {
    let metas: Vec<ParamMeta> = shapes.iter().enumerate().map(|(i, s)| ParamMeta { path: format!("p{i}"), shape: s.clone() }).collect();
    let mut start = 0;
    let tensors = shapes
        .iter()
        .map(|s| {
            let n: usize = s.iter().product();
            start += n;
            Tensor::<1>::from_data(TensorData::new(values[start - n..start].to_vec(), [n]), device)
        })
        .collect();
    ParamSet::new(metas, tensors).unwrap()
}

proptest! {
    #[test]
    fn the_flat_vector_and_the_host_copy_should_round_trip_exactly((shapes, values) in params()) {
        let device = Device::flex();
        let p = set(&shapes, &values, &device);
        prop_assert_eq!(p.numel(), values.len());
        prop_assert_eq!(p.to_host(), values.clone());
        let from_vector = p.with_vector(p.to_vector().unwrap()).unwrap();
        prop_assert_eq!(from_vector.to_host(), values.clone());
        let from_host = p.with_host(&values, &device).unwrap();
        prop_assert_eq!(from_host.metas(), p.metas());
        prop_assert_eq!(from_host.to_host(), values);
    }

    #[test]
    fn a_vector_of_the_wrong_length_should_be_refused((shapes, values) in params(), extra in 1usize..4) {
        let device = Device::flex();
        let p = set(&shapes, &values, &device);
        let longer: Vec<f32> = values.iter().copied().chain(std::iter::repeat_n(0.0, extra)).collect();
        prop_assert!(p.with_host(&longer, &device).is_err());
        prop_assert!(p.with_vector(Tensor::<1>::from_data(TensorData::new(longer, [values.len() + extra]), &device)).is_err());
    }
}
