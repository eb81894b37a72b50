//! Properties of the metrics: in range, and agreeing with their definitions.

use owm_eval::{Average, ClassificationReport, ZeroDivision, prf};
use proptest::prelude::*;

/// Truth and predictions of 1 to 200 items over 2 to 6 classes.
fn labels() -> impl Strategy<Value = (usize, Vec<usize>, Vec<usize>)> {
    (2usize..7, 1usize..200).prop_flat_map(|(k, n)| (Just(k), prop::collection::vec(0..k, n), prop::collection::vec(0..k, n)))
}

proptest! {
    #[test]
    fn metrics_should_stay_in_range_and_match_their_definitions((k, truth, predicted) in labels()) {
        let r = ClassificationReport::new(&truth, &predicted, k).unwrap();
        let n = truth.len();
        let correct = truth.iter().zip(&predicted).filter(|(t, p)| t == p).count();
        prop_assert_eq!(r.accuracy, correct as f64 / n as f64);
        prop_assert_eq!(r.total, n as u64);
        prop_assert_eq!(r.confusion.iter().flatten().sum::<u64>(), n as u64);
        for (c, m) in r.per_class.iter().enumerate() {
            let tp = truth.iter().zip(&predicted).filter(|&(&t, &p)| t == c && p == c).count() as f64;
            let predicted_c = predicted.iter().filter(|&&p| p == c).count() as f64;
            let support = truth.iter().filter(|&&t| t == c).count();
            prop_assert_eq!(m.support, support as u64);
            for v in [m.precision, m.recall, m.f1] {
                prop_assert!((0.0..=1.0).contains(&v), "class {} value {}", c, v);
            }
            if predicted_c > 0.0 {
                prop_assert!((m.precision - tp / predicted_c).abs() < 1e-12);
            }
            if support > 0 {
                prop_assert!((m.recall - tp / support as f64).abs() < 1e-12);
            }
            if m.precision + m.recall > 0.0 {
                prop_assert!((m.f1 - 2.0 * m.precision * m.recall / (m.precision + m.recall)).abs() < 1e-12);
            }
        }
        // Micro-averaged F1 of a single-label task is the accuracy.
        let micro = prf(&truth, &predicted, k, 1.0, Average::Micro, ZeroDivision::Zero).unwrap();
        prop_assert!((micro.f - r.accuracy).abs() < 1e-12);
        let macro_f1 = r.per_class.iter().map(|m| m.f1).sum::<f64>() / k as f64;
        prop_assert!((r.macro_f1 - macro_f1).abs() < 1e-12);
    }
}
