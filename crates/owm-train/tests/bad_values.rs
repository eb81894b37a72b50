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

/// A CSV with a header and `rows`, target column `y`.
fn csv(dir: &std::path::Path, name: &str, rows: &[&str]) -> Value {
    let path = dir.join(name);
    std::fs::write(&path, format!("a,b,y\n{}", rows.iter().map(|r| format!("{r}\n")).collect::<String>())).unwrap();
    json!({"source": {"kind": "tabular", "path": path, "options": {"target": "y"}}, "test_fraction": 0.5})
}

#[test]
fn every_bad_value_should_be_refused_before_the_run_folder_exists() {
    let dir = owm_testkit::tempdir();
    let one_class = csv(dir.path(), "one.csv", &["1,2,yes", "2,3,yes", "3,4,yes", "4,5,yes"]);
    let empty = csv(dir.path(), "empty.csv", &[]);
    // (row of the table, patch, what the error must say)
    use Change::{Code, Json};
    let rows: Vec<(&str, Change, &str)> = vec![
        ("learning rate NaN", Code(|c| lr(c, f64::NAN)), "learning rate"),
        ("learning rate infinite", Code(|c| lr(c, f64::INFINITY)), "learning rate"),
        ("learning rate negative", Json(json!({"optimizer": {"kind": "adam", "lr": -0.1}})), "learning rate"),
        ("momentum ≥ 1", Json(json!({"optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 1.5}})), "momentum"),
        ("Adam beta1 = 1", Json(json!({"optimizer": {"kind": "adam", "lr": 0.001, "beta1": 1.0}})), "beta1"),
        ("weight decay negative", Json(json!({"optimizer": {"kind": "adamw", "lr": 0.001, "weight_decay": -1.0}})), "weight decay"),
        ("GA population 0", Json(json!({"optimizer": {"kind": "ga", "population": 0}})), "population"),
        ("batch size 0", Json(json!({"batch_size": 0})), "batch"),
        ("batch larger than the data", Json(json!({"batch_size": 5000})), "batch_size 5000 is larger than the"),
        ("zero-width hidden layer", Json(json!({"model": {"kind": "mlp", "hidden": [16, 0]}})), "width 0"),
        ("ResNet depth not 6n+2", Json(json!({"model": {"kind": "resnet", "depth": 10}})), "6n + 2"),
        ("text CNN without filters", Json(json!({"model": {"kind": "text_cnn", "dim": 8, "filters": 0, "widths": [2]}})), "filters"),
        ("test fraction 1.5", Json(json!({"data": {"test_fraction": 1.5}})), "1.5"),
        ("test fraction NaN", Code(|c| c.data.test_fraction = f64::NAN), "NaN"),
        ("training limit 0", Json(json!({"data": {"train_limit": 0}})), "train_limit"),
        ("target loss NaN", Code(|c| c.convergence.target_loss = Some(f64::NAN)), "target"),
        ("time budget negative", Json(json!({"convergence": {"max_seconds": -1.0}})), "wall-clock budget"),
        (
            "init std NaN",
            Code(|c| c.init = InitPlan { rules: vec![InitRule { pattern: "*".into(), strategy: InitStrategy::Normal { mean: 0.0, std: f64::NAN } }] }),
            "standard deviation",
        ),
        ("privacy epsilon negative", Json(json!({"privacy": {"epsilon": -1.0, "delta": 1e-5, "clip": 1.0}})), "epsilon"),
        ("privacy clip 0", Json(json!({"privacy": {"epsilon": 1.0, "delta": 1e-5, "clip": 0.0}, "normalize": false})), "clip"),
        ("empty dataset", Json(json!({"data": empty, "batch_size": 1})), "no rows"),
        ("one-class dataset", Json(json!({"data": one_class, "batch_size": 1})), "one class only (yes)"),
    ];
    let mut failures = Vec::new();
    for (i, (row, patch, says)) in rows.into_iter().enumerate() {
        let run = dir.path().join(format!("run-{i}"));
        let made = match patch {
            Json(patch) => config(patch),
            Code(change) => {
                let mut c = ExperimentConfig::default();
                change(&mut c);
                Ok(c)
            }
        };
        let error = match made {
            Err(e) => e,
            Ok(c) => match train(&c, &run, false) {
                Ok(_) => "accepted".to_string(),
                Err(e) => e.to_string(),
            },
        };
        println!("{row}: {error}");
        if !error.contains(says) {
            failures.push(format!("{row}: `{error}` does not say `{says}`"));
        }
        if run.exists() {
            failures.push(format!("{row}: the run folder was created before the error"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
