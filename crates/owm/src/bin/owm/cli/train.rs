//! `owm train`'s options, grouped as `--help` shows them; `settings.rs` turns them into an experiment config.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// `owm train`: every option overrides the config's value (`--config`, else the default experiment).
#[derive(Args)]
pub struct TrainArgs {
    /// Start from an experiment config (JSON); the options below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub optimizer: OptimizerArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
    #[command(flatten)]
    pub transfer: TransferArgs,
    #[command(flatten)]
    pub privacy: PrivacyArgs,
    #[command(flatten)]
    pub trace: TraceArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Former spelling of `owm resume RUN`, kept for scripts; takes no experiment option.
    #[arg(long, hide = true, conflicts_with_all = ["config", "DataArgs", "TaskArgs", "ModelArgs", "OptimizerArgs", "BudgetArgs", "TransferArgs", "PrivacyArgs", "TraceArgs", "out"])]
    pub resume: Option<PathBuf>,
}

/// Where the examples come from.
#[derive(Args)]
#[command(next_help_heading = "Data")]
pub struct DataArgs {
    /// Dataset: digits, mnist, fashion-mnist or cifar10 (files in `--data-dir`); with `--task`, the file or
    /// folder to train on.
    #[arg(long)]
    pub data: Option<String>,
    /// Folder with the dataset's files (MNIST IDX or CIFAR-10 binary batches).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// What `--data FILE_OR_DIR` holds.
    #[arg(long, value_enum, requires = "data")]
    pub task: Option<TaskKind>,
    /// A separate test file (tabular, text); otherwise `--test-fraction` of `--data` is held out (stratified).
    #[arg(long, requires = "task")]
    pub test_data: Option<PathBuf>,
    /// Held-out fraction when there is no separate test split.
    #[arg(long)]
    pub test_fraction: Option<f64>,
    /// Fraction of the training records held out for validation every epoch (stratified, seeded; default
    /// 0.1, 0 for none).
    #[arg(long, conflicts_with = "validation_data")]
    pub validation_fraction: Option<f64>,
    /// A separate validation file (tabular, text), read with what the training file fits.
    #[arg(long, requires = "task")]
    pub validation_data: Option<PathBuf>,
    /// Keep only these classes (by name, comma-separated), relabelled in this order (`--classes 5,6,7,8,9`).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// Use only the first N training items.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Use only the first N test items.
    #[arg(long)]
    pub test_limit: Option<usize>,
    /// Image: augment training images. Alone: CIFAR-10's random crop (zero padding 4) and horizontal flip;
    /// `crop=N,flip=true|false` sets either (digits: `crop=2,flip=false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "cifar", value_name = "SPEC")]
    pub augment: Option<String>,
    /// Licence of the trained weights (SPDX, e.g. Apache-2.0), recorded in the bundle.
    #[arg(long)]
    pub weights_license: Option<String>,
    /// Licence of the training data (SPDX, e.g. CC-BY-4.0), recorded in the bundle.
    #[arg(long)]
    pub data_license: Option<String>,
}

/// What `--data FILE_OR_DIR` holds.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskKind {
    /// A CSV table: one row per item, `--target` names the class column.
    Tabular,
    /// A `label<TAB>text` file.
    Text,
    /// A `user,item,click[,timestamp]` file.
    Recsys,
    /// An image folder (one sub-folder per class), or MNIST IDX / CIFAR-10 binary files.
    Image,
}

/// How a task's file is read: options that need `--task`.
#[derive(Args)]
#[group(requires = "task", multiple = true)]
#[command(next_help_heading = "Task files (with --task)")]
pub struct TaskArgs {
    /// Tabular: the target (class) column.
    #[arg(long)]
    pub target: Option<String>,
    /// Tabular: column names of a file without a header (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Tabular: columns read as categories (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Option<Vec<String>>,
    /// Tabular: columns read as numbers (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub numeric: Option<Vec<String>>,
    /// Tabular: columns left out (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Option<Vec<String>>,
    /// Tabular: rows with missing values (`?`, `NA`, empty): dropped, or filled with the mean or median (the
    /// mode for categories).
    #[arg(long, value_enum)]
    pub missing: Option<MissingArg>,
    /// Tabular: scaling of numeric columns.
    #[arg(long, value_enum)]
    pub scaling: Option<ScalingArg>,
    /// Tabular: encoding of categories.
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingArg>,
    /// Tabular: target values mapped to classes, `FROM=TO` comma-separated (`1=sick,2=sick`).
    #[arg(long, value_delimiter = ',')]
    pub target_map: Option<Vec<String>>,
    /// Text: read a CSV file with a header, taking the label and the text from these two columns.
    #[arg(long, value_delimiter = ',')]
    pub text_columns: Option<Vec<String>>,
    /// Text: tokenizer, one piece or several joined by `+`, their tokens in one bag: words, chars, char-bigrams,
    /// jieba (`chars+char-bigrams+jieba`; default words).
    #[arg(long)]
    pub tokenizer: Option<owm::data::text::Tokenizer>,
    /// Text: tokens per item (truncated or padded).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Text: minimum training frequency of a token.
    #[arg(long)]
    pub min_freq: Option<usize>,
    /// Text: vocabulary size cap.
    #[arg(long)]
    pub max_vocab: Option<usize>,
    /// Recsys: non-clicks drawn per click.
    #[arg(long)]
    pub negatives: Option<usize>,
    /// Recsys: test each user's latest interactions (needs a timestamp column).
    #[arg(long)]
    pub chronological: bool,
    /// Recsys: the labels are ratings; at or above this is a click, below an explicit non-click (MovieLens: 4).
    #[arg(long)]
    pub click_threshold: Option<f32>,
    /// Recsys: side features of users, a CSV whose first column names the user (use with `--model fm`).
    #[arg(long)]
    pub user_features: Option<PathBuf>,
    /// Recsys: side features of items, a CSV whose first column names the item (use with `--model fm`).
    #[arg(long)]
    pub item_features: Option<PathBuf>,
    /// Image: read images as one luma channel.
    #[arg(long)]
    pub grayscale: bool,
}

/// `--missing` values.
#[derive(Clone, Copy, ValueEnum)]
pub enum MissingArg {
    Drop,
    Mean,
    Median,
}

/// `--scaling` values.
#[derive(Clone, Copy, ValueEnum)]
pub enum ScalingArg {
    Standard,
    MinMax,
    Robust,
    None,
}

/// `--encoding` values.
#[derive(Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    OneHot,
    Ordinal,
}

/// The model.
#[derive(Args)]
#[command(next_help_heading = "Model")]
pub struct ModelArgs {
    /// Model (default: the task's: mlp for tabular, embedding-bag for text, mf for recsys, lenet for images).
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Embedding or factor width (embedding-bag, text-cnn, mf, fm).
    #[arg(long)]
    pub dim: Option<usize>,
    /// Hidden widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Depth of the residual network, 6n + 2 (default 20: ResNet-20).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Weight init (biases zero, batch norms the identity): `he-uniform` (OWM's default) or `torch-uniform`
    /// (PyTorch's `U(±1/√fan_in)`, the default of private runs, where it trains better under the noise).
    #[arg(long, value_enum)]
    pub init: Option<InitKind>,
}

/// `--init` values.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitKind {
    HeUniform,
    TorchUniform,
}

/// `--model` values.
#[derive(Clone, Copy, ValueEnum)]
pub enum ModelKind {
    Mlp,
    Lenet,
    Resnet,
    Logistic,
    EmbeddingBag,
    TextCnn,
    Mf,
    Fm,
}

/// The optimiser phases and settings given to every phase that has them.
#[derive(Args)]
#[command(next_help_heading = "Optimiser")]
pub struct OptimizerArgs {
    /// Optimiser phases: gd, sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, chain, ga, sa, es, each
    /// with optional `:key=value` settings and criteria, phases separated by commas
    /// (`ga:generations=30:population=40,adam`). Replaces the config's phases.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Learning rate, for every phase that has one (other settings are kept).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Momentum, for every phase that has one.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Weight decay, for every phase that has one.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Clip the gradients' global norm, in every gradient phase.
    #[arg(long)]
    pub clip_norm: Option<f64>,
    /// Learning-rate schedule of every gradient phase: `kind[:key=value...]` (see `owm schedule`).
    #[arg(long)]
    pub schedule: Option<String>,
    /// Update embedding tables lazily, only the rows each batch reads (as torch.optim.SparseAdam), in every
    /// gradient phase. Default: true for text and interactions wherever the phase's settings allow it.
    #[arg(long, value_name = "BOOL")]
    pub lazy: Option<bool>,
    /// Population of every search phase (ga, es).
    #[arg(long)]
    pub population: Option<usize>,
    /// Noise scale of every evolution-strategy phase.
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Initial temperature of every annealing phase.
    #[arg(long)]
    pub t0: Option<f64>,
}

/// When the run stops, and its batches and seed.
#[derive(Args)]
#[command(next_help_heading = "Budget and criteria")]
pub struct BudgetArgs {
    /// Epoch budget.
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Step (or generation) budget.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Candidate-evaluation budget (search methods).
    #[arg(long)]
    pub max_evaluations: Option<u64>,
    /// Wall-clock budget in seconds.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Stop when the round loss has not improved for this many rounds.
    #[arg(long)]
    pub patience: Option<u64>,
    /// Stop when a metric stops improving and keep the best epoch's weights: `METRIC[:patience=N,min_delta=X,
    /// mode=min|max,restore=true|false]` (`val_loss`, `val_accuracy`, `val_macro_f1`, `val_roc_auc`,
    /// `train_loss`), or `off`. Default without `--epochs`: `val_loss:patience=10` within 200 epochs.
    #[arg(long)]
    pub early_stopping: Option<String>,
    /// Stop once the epoch loss is at or below this.
    #[arg(long)]
    pub target_loss: Option<f64>,
    /// Mini-batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Root seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Starting from another model's weights.
#[derive(Args)]
#[command(next_help_heading = "Transfer")]
pub struct TransferArgs {
    /// Start from this bundle's (or run folder's) tensors after the init plan: transfer learning
    /// (`--init-from` is the same option).
    #[arg(long, alias = "init-from")]
    pub transfer_from: Option<PathBuf>,
    /// Transfer: rename source paths, `FROM=TO` (exact; a prefix when FROM ends in `.`; a glob with `*`;
    /// `re:REGEX=REPLACEMENT`), comma-separated, first match wins.
    #[arg(long, value_delimiter = ',', requires = "transfer_from")]
    pub transfer_map: Option<Vec<String>>,
    /// Transfer: module paths (globs, comma-separated) left as initialised, e.g. a new head `layers.1.*`.
    #[arg(long, value_delimiter = ',', requires = "transfer_from")]
    pub transfer_exclude: Option<Vec<String>>,
    /// Transfer: on a shape mismatch, error, skip (and report) or adapt (new head, first convolution).
    #[arg(long, value_enum, requires = "transfer_from")]
    pub on_mismatch: Option<MismatchArg>,
    /// Transfer: freeze the transferred tensors while training.
    #[arg(long, requires = "transfer_from")]
    pub freeze_transferred: bool,
}

/// `--on-mismatch` values.
#[derive(Clone, Copy, ValueEnum)]
pub enum MismatchArg {
    Error,
    Skip,
    Adapt,
}

/// Differential privacy.
#[derive(Args)]
#[command(next_help_heading = "Differential privacy")]
pub struct PrivacyArgs {
    /// Train with example-level differential privacy (DP-SGD), the noise solved for this ε over the run's
    /// step budget; the guarantee goes into the manifest and the model card.
    #[arg(long, conflicts_with = "dp_noise")]
    pub dp_epsilon: Option<f64>,
    /// DP-SGD with this noise multiplier instead (the ε spent is reported).
    #[arg(long)]
    pub dp_noise: Option<f64>,
    /// DP-SGD: δ (default 1e-5).
    #[arg(long)]
    pub dp_delta: Option<f64>,
    /// DP-SGD: per-example gradient norm bound (default 1).
    #[arg(long)]
    pub dp_clip: Option<f64>,
    /// DP-SGD: public bounds of the input features, `LO:HI` for every one or `NAME=LO:HI,...` (a table's
    /// prepared columns, `*=LO:HI` for the rest). Alone, they scale each feature to [-1, 1], spending nothing.
    #[arg(long)]
    pub feature_bounds: Option<String>,
    /// DP-SGD: normalise the inputs with private estimates from the training split, inside the guarantee:
    /// `center` (subtract the means) or `standard` (also divide by the standard deviations), every value
    /// clamped into --feature-bounds; `:epsilon=E` is what they spend on their own (default a tenth of
    /// --dp-epsilon), and the training noise is solved for what is left.
    #[arg(long, requires = "feature_bounds")]
    pub dp_normalize: Option<String>,
}

/// What the trace records and how often the run checkpoints.
#[derive(Args)]
#[command(next_help_heading = "Trace and checkpoints")]
pub struct TraceArgs {
    /// Per-layer statistics every N steps (0: off).
    #[arg(long)]
    pub stats_every: Option<u64>,
    /// Only these parameter paths (globs, comma-separated) get statistics and histograms.
    #[arg(long, value_delimiter = ',')]
    pub trace_paths: Option<Vec<String>>,
    /// A histogram of each traced parameter every N steps (0: off).
    #[arg(long)]
    pub histogram_every: Option<u64>,
    /// A digest of all weights every N steps (0: initial and final only).
    #[arg(long)]
    pub digest_every: Option<u64>,
    /// Write every value of these parameter paths (globs, comma-separated) at `--snapshot-steps`.
    #[arg(long, value_delimiter = ',')]
    pub snapshot_paths: Option<Vec<String>>,
    /// Steps (comma-separated, 0 = initial weights) at which `--snapshot-paths` are written.
    #[arg(long, value_delimiter = ',')]
    pub snapshot_steps: Option<Vec<u64>>,
    /// Write a checkpoint every N steps (0: never).
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
}

/// Where the run happens and how it reports.
#[derive(Args)]
#[command(next_help_heading = "Run")]
pub struct RunArgs {
    /// Backend: cpu (flex), ndarray, wgpu, or remote:ws://HOST:PORT (a device `owm serve` hosts).
    #[arg(long)]
    pub device: Option<String>,
    /// The token of a remote device's server (`owm serve --token-file`).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Decrypt the encrypted bundles the run starts from (`--transfer-from`, pretrained sources) in memory
    /// with this age identity file.
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// Decrypt them with the passphrase in this file.
    #[arg(long, conflicts_with = "identity")]
    pub passphrase_file: Option<PathBuf>,
    /// Run folder (default: runs/NAME-sSEED, numbered if taken).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a training command reports (`owm train`, `owm resume`).
#[derive(Args)]
pub struct OutputArgs {
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the run's summary as one JSON line (accuracy, macro F1, steps, seconds of the run and of its
    /// training loop, weights digest, folders) instead of text.
    #[arg(long)]
    pub json: bool,
}
