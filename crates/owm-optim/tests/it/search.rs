//! The gradient-free methods on Rastrigin and Rosenbrock in dimension 10, within stated budgets, and the
//! exact resume of a search from its saved state.

use burn::prelude::*;
use owm_core::{NullSink, ParamMeta, ParamSet, TraceEvent};
use owm_optim::{
    Cooling, Crossover, EsConfig, FunctionObjective, GaConfig, Mutation, Optimizer, OptimizerConfig, SaConfig, StepContext, rastrigin, rosenbrock,
};

const DIM: usize = 10;

fn start(value: f32) -> ParamSet {
    let t = Tensor::<1>::from_data(TensorData::new(vec![value; DIM], [DIM]), &Device::flex());
    ParamSet::new(vec![ParamMeta { path: "x".into(), shape: vec![DIM] }], vec![t]).unwrap()
}

/// Runs `steps` steps of `config` on `f` from `x0`; returns the final loss and the trace.
fn run(config: &OptimizerConfig, f: fn(&[f32]) -> f64, x0: f32, steps: u64) -> (f64, Vec<TraceEvent>) {
    let mut optim = config.build(7).unwrap();
    let mut objective = FunctionObjective::new(DIM, f);
    let mut params = start(x0);
    let mut trace = Vec::new();
    let mut loss = f64::NAN;
    for step in 1..=steps {
        let s = optim.step(params, &mut objective, StepContext { step, layer_stats: false }, &mut trace).unwrap();
        (params, loss) = (s.params, s.loss);
    }
    assert_eq!(f(&params.to_host()), loss, "the weights returned are the ones whose loss is reported");
    (loss, trace)
}

// Settings below were chosen on seeds 0–2 (3 for SA) and all of those reach f < 1e-3 (Rastrigin) or
// f < 1e-2 (Rosenbrock); the tests run seed 7. "The optimum" means f < 1e-2 (f* = 0 for both).

#[test]
fn ga_should_reach_the_optimum_of_rastrigin_and_never_lose_its_best() {
    // Budget: 200 × 1,000 = 200,000 evaluations, from x = 3 (outside the central basin in every coordinate).
    let ga = GaConfig { population: 200, mutation: Mutation::Gaussian { std: 0.5, rate: 0.1 }, init_std: 3.0, ..GaConfig::default() };
    let (loss, trace) = run(&OptimizerConfig::Ga(ga), rastrigin, 3.0, 1000);
    assert!(loss < 1e-2, "rastrigin {loss}");
    let best: Vec<f64> = trace
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Generation(g) => Some(g.loss),
            _ => None,
        })
        .collect();
    assert!(best.windows(2).all(|w| w[1] <= w[0]), "elitism: the best loss never gets worse");
    let TraceEvent::Generation(last) = trace.last().unwrap() else { panic!() };
    let lineage = last.lineage.as_ref().unwrap();
    assert!(!lineage.parents.is_empty() && lineage.operators[0] == "tournament(3)", "{lineage:?}");
}

#[test]
fn ga_should_reach_the_optimum_of_rosenbrock() {
    // Budget: 100 × 10,000 = 1,000,000 evaluations, from the origin; self-adaptive steps follow the valley.
    let ga = GaConfig {
        population: 100,
        elites: 10,
        crossover: Crossover::Sbx { eta: 2.0 },
        mutation: Mutation::SelfAdaptive { initial_std: 0.1, rate: 0.5 },
        init_std: 1.0,
        ..GaConfig::default()
    };
    let (loss, _) = run(&OptimizerConfig::Ga(ga), rosenbrock, 0.0, 10_000);
    assert!(loss < 1e-2, "rosenbrock {loss}");
}

fn sa() -> SaConfig {
    SaConfig {
        t0: 30.0,
        cooling: Cooling::Exponential { alpha: 0.999 },
        scale: 1.0,
        scale_decay: 0.9996,
        min_scale: 1e-5,
        fraction: 0.1,
        neighbours: 8,
        restart_after: Some(3000),
        ..SaConfig::default()
    }
}

#[test]
fn sa_should_reach_the_optimum_of_rastrigin() {
    // Budget: 8 × 20,000 = 160,000 evaluations.
    let (loss, trace) = run(&OptimizerConfig::Sa(sa()), rastrigin, 3.0, 20_000);
    assert!(loss < 1e-2, "rastrigin {loss}");
    assert!(trace.iter().any(|e| matches!(e, TraceEvent::Generation(g) if g.stats.contains_key("temperature"))));
}

#[test]
fn sa_should_reach_the_optimum_of_rosenbrock() {
    // Budget: 8 × 20,000 = 160,000 evaluations.
    let sa = SaConfig { scale_decay: 0.9997, fraction: 0.2, cooling: Cooling::Exponential { alpha: 0.9995 }, restart_after: None, ..sa() };
    let (loss, _) = run(&OptimizerConfig::Sa(sa), rosenbrock, 0.0, 20_000);
    assert!(loss < 1e-2, "rosenbrock {loss}");
}

#[test]
fn es_should_reach_the_optimum_of_rastrigin_and_rosenbrock() {
    // Rastrigin: a wide σ smooths the lattice of local minima away, then narrows; budget 101 × 3,000 evaluations.
    let es = EsConfig { population: 100, sigma: 1.0, sigma_decay: 0.998, lr: 0.02, lr_decay: 0.9985, ..EsConfig::default() };
    let (loss, _) = run(&OptimizerConfig::Es(es), rastrigin, 3.0, 3000);
    assert!(loss < 1e-2, "rastrigin {loss}");
    // Rosenbrock: budget 51 × 8,000 evaluations.
    let es = EsConfig { population: 50, sigma: 0.01, lr: 0.01, lr_decay: 0.9995, ..EsConfig::default() };
    let (loss, _) = run(&OptimizerConfig::Es(es), rosenbrock, 0.0, 8000);
    assert!(loss < 1e-2, "rosenbrock {loss}");
}

#[test]
fn a_search_state_from_other_settings_or_weights_should_be_refused() {
    let mut objective = FunctionObjective::new(DIM, rastrigin);
    let ga = |population| OptimizerConfig::Ga(GaConfig { population, ..GaConfig::default() });
    let mut a = ga(10).build(1).unwrap();
    let params = a.step(start(1.0), &mut objective, StepContext { step: 1, layer_stats: false }, &mut NullSink).unwrap().params;
    let state = a.state();
    let mut other = ga(12).build(1).unwrap();
    assert!(matches!(other.load_state(&state, &params), Err(owm_optim::Error::State(m)) if m.contains("other settings")));
    let wider = ParamSet::new(vec![ParamMeta { path: "x".into(), shape: vec![DIM + 1] }], vec![Tensor::<1>::zeros([DIM + 1], &Device::flex())]).unwrap();
    let err = ga(10).build(1).unwrap().load_state(&state, &wider).unwrap_err();
    assert!(err.to_string().contains("has 10 weights, the model 11"), "{err}");
    assert!(ga(10).build(1).unwrap().load_state(&state, &params).is_ok());
}

#[test]
fn searches_should_resume_exactly_from_their_state() {
    let ga = GaConfig { mutation: Mutation::SelfAdaptive { initial_std: 0.1, rate: 0.3 }, ..GaConfig::default() };
    for config in [OptimizerConfig::Ga(ga), OptimizerConfig::Sa(sa()), OptimizerConfig::Es(EsConfig::default())] {
        let ctx = |step| StepContext { step, layer_stats: false };
        let mut objective = FunctionObjective::new(DIM, rastrigin);
        let mut a = config.build(3).unwrap();
        let mut pa = start(2.0);
        for step in 1..=20 {
            pa = a.step(pa, &mut objective, ctx(step), &mut NullSink).unwrap().params;
        }
        let mut b = config.build(3).unwrap();
        let mut pb = start(2.0);
        for step in 1..=10 {
            pb = b.step(pb, &mut objective, ctx(step), &mut NullSink).unwrap().params;
        }
        let saved = serde_json::to_string(&b.state()).unwrap();
        let mut c: Box<dyn Optimizer> = config.build(3).unwrap();
        c.load_state(&serde_json::from_str(&saved).unwrap(), &pb).unwrap();
        for step in 11..=20 {
            pb = c.step(pb, &mut objective, ctx(step), &mut NullSink).unwrap().params;
        }
        assert_eq!(pa.to_host(), pb.to_host(), "{}", config.name());
    }
}
