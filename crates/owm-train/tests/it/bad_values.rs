//! The bad-value table of `docs/reliability.md`: each row is a config (or data) that must be refused with a
//! clear error before the run folder exists.

use owm_init::{InitPlan, InitRule, InitStrategy};
use owm_optim::OptimizerConfig;
use owm_train::{ExperimentConfig, train};
use serde_json::{Value, json};

/// A row's change to the default config: a JSON patch, or Rust code for what JSON cannot carry (NaN, ∞).
enum Change {
    Json(Value),
    Code(fn(&mut ExperimentConfig)),
}

fn lr(c: &mut ExperimentConfig, lr: f64) {
    match &mut c.optimizer {
        OptimizerConfig::Adam(a) => a.lr = lr,
        other => panic!("{other:?}"),
    }
}

/// Merges `patch` into the default config's JSON (objects merge, anything else replaces).
fn config(patch: Value) -> Result<ExperimentConfig, String> {
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => p.into_iter().for_each(|(k, v)| merge(b.entry(k).or_insert(Value::Null), v)),
            (b, p) => *b = p,
        }
    }
    let mut value: Value = serde_json::from_str(&ExperimentConfig::default().to_json()).unwrap();
    merge(&mut value, patch);
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// A CSV with a header and `rows`, target column `y`, written to a scratch folder kept for the process.
fn csv(name: &str, rows: &[&str]) -> Value {
    static DIR: std::sync::OnceLock<owm_testkit::TempDir> = std::sync::OnceLock::new();
    let path = DIR.get_or_init(owm_testkit::tempdir).path().join(name);
    std::fs::write(&path, format!("a,b,y\n{}", rows.iter().map(|r| format!("{r}\n")).collect::<String>())).unwrap();
    json!({"source": {"kind": "tabular", "path": path, "options": {"target": "y"}}, "test_fraction": 0.5})
}

/// Runs one row: the change must be refused with an error that says `says`, and no run folder may exist.
fn refused(row: &str, change: Change, says: &str) {
    let dir = owm_testkit::tempdir();
    let made = match change {
        Change::Json(patch) => config(patch),
        Change::Code(change) => {
            let mut c = ExperimentConfig::default();
            change(&mut c);
            Ok(c)
        }
    };
    let run = dir.path().join("run");
    let error = match made {
        Err(e) => e,
        Ok(c) => match train(&c, &run, false) {
            Ok(_) => panic!("{row}: accepted"),
            Err(e) => e.to_string(),
        },
    };
    println!("{row}: {error}");
    assert!(error.contains(says), "{row}: `{error}` does not say `{says}`");
    assert!(!run.exists(), "{row}: the run folder was created before the error");
}

/// One test per row of the bad-value table.
macro_rules! bad_value {
    ($test:ident, $row:expr, $change:expr, $says:expr) => {
        #[test]
        fn $test() {
            #[allow(unused_imports)]
            use Change::{Code, Json};
            refused($row, $change, $says);
        }
    };
}

bad_value!(learning_rate_nan, "learning rate NaN", Code(|c| lr(c, f64::NAN)), "learning rate");
bad_value!(learning_rate_infinite, "learning rate infinite", Code(|c| lr(c, f64::INFINITY)), "learning rate");
bad_value!(learning_rate_negative, "learning rate negative", Json(json!({"optimizer": {"kind": "adam", "lr": -0.1}})), "learning rate");
bad_value!(momentum_at_least_1, "momentum ≥ 1", Json(json!({"optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 1.5}})), "momentum");
bad_value!(adam_beta1_is_1, "Adam beta1 = 1", Json(json!({"optimizer": {"kind": "adam", "lr": 0.001, "beta1": 1.0}})), "beta1");
bad_value!(weight_decay_negative, "weight decay negative", Json(json!({"optimizer": {"kind": "adamw", "lr": 0.001, "weight_decay": -1.0}})), "weight decay");
bad_value!(ga_population_0, "GA population 0", Json(json!({"optimizer": {"kind": "ga", "population": 0}})), "population");
bad_value!(batch_size_0, "batch size 0", Json(json!({"batch_size": 0})), "batch");
bad_value!(batch_larger_than_the_data, "batch larger than the data", Json(json!({"batch_size": 5000})), "batch_size 5000 is larger than the");
bad_value!(zero_width_hidden_layer, "zero-width hidden layer", Json(json!({"model": {"kind": "mlp", "hidden": [16, 0]}})), "width 0");
bad_value!(resnet_depth_not_6n_plus_2, "ResNet depth not 6n+2", Json(json!({"model": {"kind": "resnet", "depth": 10}})), "6n + 2");
bad_value!(
    text_cnn_without_filters,
    "text CNN without filters",
    Json(json!({"model": {"kind": "text_cnn", "dim": 8, "filters": 0, "widths": [2]}})),
    "filters"
);
bad_value!(test_fraction_1_5, "test fraction 1.5", Json(json!({"data": {"test_fraction": 1.5}})), "1.5");
bad_value!(test_fraction_nan, "test fraction NaN", Code(|c| c.data.test_fraction = f64::NAN), "NaN");
bad_value!(training_limit_0, "training limit 0", Json(json!({"data": {"train_limit": 0}})), "train_limit");
bad_value!(target_loss_nan, "target loss NaN", Code(|c| c.convergence.target_loss = Some(f64::NAN)), "target");
bad_value!(time_budget_negative, "time budget negative", Json(json!({"convergence": {"max_seconds": -1.0}})), "wall-clock budget");
bad_value!(
    init_std_nan,
    "init std NaN",
    Code(|c| c.init = InitPlan { rules: vec![InitRule { pattern: "*".into(), strategy: InitStrategy::Normal { mean: 0.0, std: f64::NAN } }] }),
    "standard deviation"
);
bad_value!(privacy_epsilon_negative, "privacy epsilon negative", Json(json!({"privacy": {"epsilon": -1.0, "delta": 1e-5, "clip": 1.0}})), "epsilon");
bad_value!(privacy_clip_0, "privacy clip 0", Json(json!({"privacy": {"epsilon": 1.0, "delta": 1e-5, "clip": 0.0}, "normalize": false})), "clip");
bad_value!(empty_dataset, "empty dataset", Json(json!({"data": csv("empty.csv", &[]), "batch_size": 1})), "no rows");
bad_value!(
    one_class_dataset,
    "one-class dataset",
    Json(json!({"data": csv("one.csv", &["1,2,yes", "2,3,yes", "3,4,yes", "4,5,yes"]), "batch_size": 1})),
    "one class only (yes)"
);
