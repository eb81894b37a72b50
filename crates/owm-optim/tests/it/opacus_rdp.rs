//! The RDP accountant against Opacus's (`tools/opacus_rdp.py`, Opacus 1.6.0): RDP per order, ε and the
//! order that gives it, and the noise solver.

use owm_optim::{RdpAccountant, default_orders, dp_epsilon, noise_multiplier, sampled_gaussian_rdp};
use serde_json::Value;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/opacus_rdp.json")).unwrap()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap()
}

#[test]
fn rdp_and_epsilon_should_match_opacus_within_one_percent() {
    let fx = fixtures();
    let orders: Vec<f64> = fx["orders"].as_array().unwrap().iter().map(|o| o.as_f64().unwrap()).collect();
    assert_eq!(orders, default_orders());
    for case in fx["cases"].as_array().unwrap() {
        let (q, sigma, steps, delta) = (f(case, "q"), f(case, "sigma"), case["steps"].as_u64().unwrap(), f(case, "delta"));
        for (alpha, want) in orders.iter().zip(case["rdp"].as_array().unwrap()) {
            let want = want.as_f64().unwrap();
            let got = steps as f64 * sampled_gaussian_rdp(q, sigma, *alpha);
            // Per-order RDP agrees far more tightly than the 1% asked of ε.
            assert!((got - want).abs() <= 1e-6 * want.abs().max(1e-12), "q {q} σ {sigma} α {alpha}: {got} vs Opacus {want}");
        }
        let eps = dp_epsilon(q, sigma, steps, delta).unwrap();
        let want = f(case, "epsilon");
        assert!((eps.epsilon - want).abs() <= 0.01 * want, "q {q} σ {sigma} steps {steps}: ε {} vs Opacus {want}", eps.epsilon);
        assert_eq!(eps.order, f(case, "order"), "q {q} σ {sigma}: best order");
    }
}

#[test]
fn the_noise_solver_should_round_trip_and_agree_with_opacus() {
    let fx = fixtures();
    for t in fx["targets"].as_array().unwrap() {
        let (target, delta, q, steps) = (f(t, "epsilon"), f(t, "delta"), f(t, "q"), t["steps"].as_u64().unwrap());
        let sigma = noise_multiplier(target, delta, q, steps).unwrap();
        let spent = dp_epsilon(q, sigma, steps, delta).unwrap().epsilon;
        assert!(spent <= target && spent >= target * (1.0 - 1e-6), "σ {sigma} spends {spent} for target {target}");
        // Opacus bisects to ε within 0.01 below the target, so its σ is at most that much noisier.
        let opacus = f(t, "sigma");
        let at_opacus = dp_epsilon(q, opacus, steps, delta).unwrap().epsilon;
        assert!(sigma <= opacus && at_opacus <= target && at_opacus >= target - 0.0101, "σ {sigma} vs Opacus {opacus} (ε there {at_opacus})");
        // And back: the ε of a noise multiplier gives that noise multiplier.
        let again = noise_multiplier(spent, delta, q, steps).unwrap();
        assert!((again - sigma).abs() <= 1e-8 * sigma, "{again} vs {sigma}");
    }
}

#[test]
fn composing_in_parts_should_equal_composing_at_once() {
    let mut parts = RdpAccountant::default();
    parts.compose(0.01, 1.1, 400).unwrap();
    parts.compose(0.01, 1.1, 600).unwrap();
    let whole = dp_epsilon(0.01, 1.1, 1000, 1e-5).unwrap();
    let split = parts.epsilon(1e-5).unwrap();
    assert!((split.epsilon - whole.epsilon).abs() <= 1e-12 * whole.epsilon);
    assert_eq!(parts.steps, 1000);
}
