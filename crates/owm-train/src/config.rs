use std::path::Path;

use owm_core::{BackendKind, Validate};
use owm_data::{DataConfig, NormalizeBy};
use owm_init::InitPlan;
use owm_models::ModelConfig;
use owm_optim::{AdamConfig, ConvergenceConfig, OptimizerConfig, PhaseConfig};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, TraceConfig};

/// Everything that defines a training run; saved in the run folder and in the bundle manifest.
///
/// The [`Default`] is OWM's main job: an MLP (64 → 128 → 10) on the embedded 8×8 digits (10% of the
/// training records held out for validation), He-uniform init, Adam at lr 1e-3, batch 32 on the `flex` CPU
/// backend, seed 42, until the validation loss has not improved for 10 epochs (at most 200), ending on the
/// best epoch's weights ([`ExperimentConfig::converging`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Name used for the run folder.
    #[serde(default = "default_name")]
    pub name: String,
    /// Root seed: every random draw of the run derives from it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Compute backend.
    #[serde(default)]
    pub backend: BackendKind,
    /// Data source and split.
    pub data: DataConfig,
    /// The model.
    pub model: ModelConfig,
    /// How parameters are initialised.
    #[serde(default = "InitPlan::he_uniform")]
    pub init: InitPlan,
    /// Tensors loaded from another model's bundle after the init plan (renamed, adapted, optionally frozen); the
    /// run then keeps the base's input normalisation when it fits these inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<owm_init::Transfer>,
    /// Train with example-level differential privacy (DP-SGD) in every phase, the guarantee recorded in the
    /// manifest. The run then refuses to standardise inputs with statistics of its own training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::PrivacyConfig>,
    /// The optimiser of the first phase.
    pub optimizer: OptimizerConfig,
    /// Items per mini-batch (ignored by full-batch gradient descent).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// When the first phase stops.
    pub convergence: ConvergenceConfig,
    /// Further phases, run in order on the weights the previous one left (a GA then Adam, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<PhaseConfig>,
    /// Standardise numeric inputs with the training split's mean and std (default true).
    #[serde(default = "yes")]
    pub normalize: bool,
    /// Statistics per input feature (default) or per image channel.
    #[serde(default, skip_serializing_if = "is_default")]
    pub normalize_by: NormalizeBy,
    /// What the trace records and how often the run checkpoints.
    #[serde(default)]
    pub trace: TraceConfig,
    /// Licences of the bundle's components (`weights`, `data`; SPDX expressions), recorded in the manifest
    /// beside OWM's own `code` licence; they decide the Model Openness Framework class the bundle reaches.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub licenses: std::collections::BTreeMap<String, String>,
}

fn default_name() -> String {
    "owm".into()
}
fn default_seed() -> u64 {
    42
}
fn default_batch_size() -> usize {
    32
}
fn yes() -> bool {
    true
}
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            name: "digits-mlp".into(),
            seed: default_seed(),
            backend: BackendKind::Flex,
            data: DataConfig::digits(),
            model: ModelConfig::Mlp { hidden: vec![128] },
            init: InitPlan::he_uniform(),
            transfer: None,
            privacy: None,
            optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-3)),
            batch_size: default_batch_size(),
            convergence: Self::converging(),
            then: Vec::new(),
            normalize: true,
            normalize_by: NormalizeBy::Feature,
            trace: TraceConfig::default(),
            licenses: Default::default(),
        }
    }
}

impl ExperimentConfig {
    /// The default criteria, meant to converge on any task without tuning: early stopping on `val_loss` with
    /// patience 10 (restoring the best epoch) within a budget of 200 epochs.
    pub fn converging() -> ConvergenceConfig {
        ConvergenceConfig { early_stopping: Some(owm_optim::EarlyStopping::new("val_loss", 10)), ..ConvergenceConfig::epochs(200) }
    }

    /// Reads a config from a JSON file.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file when it cannot be read or parsed, or breaks a rule.
    pub fn load(path: &Path) -> Result<Self> {
        let err = |source: owm_core::BoxError| Error::Config { path: path.to_path_buf(), source };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.into()))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| err(e.into()))?;
        config.check().map_err(|e| err(e.into()))?;
        Ok(config)
    }

    /// This config on `data`, with the model and preprocessing its kind of input starts from: logistic
    /// regression trained by Adam at 1e-2 for a table, a bag of 64-wide embeddings for text, matrix
    /// factorisation with 16 factors for interactions and LeNet-5 for images; the embedding tables of text and
    /// interactions train lazily, only the rows each batch reads. Only images are standardised: a
    /// table is scaled by its own column preparation, and ids and tokens are not numbers. The name follows the
    /// data and the model.
    ///
    /// A table starts where scikit-learn users start, from the linear baseline: with the default criteria it
    /// came within 1 point of scikit-learn's `LogisticRegression` on five splits each of iris, wine, Cleveland
    /// heart disease and breast cancer (`tools/sklearn_tables.py`, `docs/applications.md`), where an MLP of 64
    /// at Adam's 1e-3 fell 3.3 points short on iris and 1 on heart disease and breast cancer (`--model mlp`
    /// trains one).
    pub fn on_task(mut self, data: DataConfig) -> Self {
        use owm_data::DataSource as D;
        (self.model, self.normalize) = match &data.source {
            D::Tabular { .. } => {
                self.optimizer = OptimizerConfig::Adam(AdamConfig::new(1e-2));
                (ModelConfig::Logistic, false)
            }
            D::Text { .. } => (ModelConfig::EmbeddingBag { dim: 64 }, false),
            D::Interactions { .. } => (ModelConfig::MatrixFactorization { dim: 16 }, false),
            D::Digits | D::Mnist { .. } | D::FashionMnist { .. } | D::Cifar10 { .. } | D::ImageFolder { .. } => {
                (ModelConfig::LeNet5 { conv1_padding: 0 }, true)
            }
        };
        self.data = data;
        if self.reads_tables() {
            self.optimizer.apply(&owm_optim::Setting::Lazy(true));
        }
        self.name = format!("{}-{}", self.data.name(), self.model.name());
        self
    }

    /// Whether the data are tokens or ids, which every model reads through embedding tables: the tables
    /// [`ExperimentConfig::on_task`] trains lazily ([`owm_optim::ChainConfig::lazy`]).
    pub fn reads_tables(&self) -> bool {
        matches!(self.data.source, owm_data::DataSource::Text { .. } | owm_data::DataSource::Interactions { .. })
    }

    /// Every phase of the run, the first from `optimizer` and `convergence`.
    pub fn phases(&self) -> Vec<PhaseConfig> {
        let first = PhaseConfig { optimizer: self.optimizer.clone(), until: self.convergence.clone() };
        std::iter::once(first).chain(self.then.iter().cloned()).collect()
    }

    /// Sets every phase at once (the first becomes `optimizer` and `convergence`).
    ///
    /// # Panics
    ///
    /// If `phases` is empty.
    pub fn set_phases(&mut self, mut phases: Vec<PhaseConfig>) {
        assert!(!phases.is_empty(), "a run needs a phase");
        let first = phases.remove(0);
        (self.optimizer, self.convergence, self.then) = (first.optimizer, first.until, phases);
    }

    /// A short description of the optimisers (`"ga → adam"`).
    pub fn optimizer_names(&self) -> String {
        self.phases().iter().map(|p| p.optimizer.name()).collect::<Vec<_>>().join(" → ")
    }

    /// The config as pretty JSON.
    pub fn to_json(&self) -> String {
        owm_core::json::to_string_pretty(self)
    }
}

impl Validate for ExperimentConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.data.check()?;
        self.model.check()?;
        self.init.check()?;
        if let Some(transfer) = &self.transfer {
            transfer.check()?;
        }
        if let Some(privacy) = &self.privacy {
            privacy.check()?;
        }
        for phase in self.phases() {
            phase.check()?;
        }
        if self.batch_size == 0 {
            return Err(Error::BatchSize);
        }
        self.trace.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_round_trip_through_json_and_fill_defaults() {
        let c = ExperimentConfig::default();
        assert_eq!(serde_json::from_str::<ExperimentConfig>(&c.to_json()).unwrap(), c);
        let minimal: ExperimentConfig = serde_json::from_str(
            r#"{"data": {"source": {"kind": "digits"}}, "model": {"kind": "mlp", "hidden": [16]},
                "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.9}, "convergence": {"max_epochs": 3}}"#,
        )
        .unwrap();
        assert_eq!((minimal.seed, minimal.batch_size, minimal.backend), (42, 32, BackendKind::Flex));
        assert_eq!(minimal.init, InitPlan::he_uniform());
    }

    #[test]
    fn a_task_should_start_from_its_inputs_model() {
        let table = DataConfig::new(owm_data::DataSource::Tabular { path: "t.csv".into(), test: None, validation: None, options: Default::default() });
        let c = ExperimentConfig::default().on_task(table);
        assert_eq!((&c.model, c.normalize, c.name.as_str()), (&ModelConfig::Logistic, false, "tabular-logistic"));
        assert_eq!(c.optimizer, OptimizerConfig::Adam(AdamConfig::new(1e-2)));
        let images = DataConfig::new(owm_data::DataSource::ImageFolder { dir: "shapes".into(), grayscale: false });
        assert_eq!(ExperimentConfig::default().on_task(images).model, ModelConfig::LeNet5 { conv1_padding: 0 });
    }

    #[test]
    fn batch_size_must_be_positive() {
        let c = ExperimentConfig { batch_size: 0, ..ExperimentConfig::default() };
        assert!(matches!(c.check(), Err(Error::BatchSize)));
    }

    #[test]
    fn should_name_the_file_of_a_bad_config() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("exp.json");
        std::fs::write(&path, r#"{"data": 3}"#).unwrap();
        let err = ExperimentConfig::load(&path).unwrap_err();
        assert!(err.to_string().contains("exp.json"), "{err}");
    }

    #[test]
    fn a_config_error_should_keep_its_cause_as_the_error_it_was() {
        let dir = owm_testkit::tempdir();
        let err = ExperimentConfig::load(&dir.path().join("missing.json")).unwrap_err();
        let io = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::NotFound), "{err}");
        let path = dir.path().join("exp.json");
        std::fs::write(&path, "{").unwrap();
        let err = ExperimentConfig::load(&path).unwrap_err();
        let json = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<serde_json::Error>());
        assert!(json.is_some_and(serde_json::Error::is_eof), "{err}");
    }
}
