//! The `owm` command line: `owm train`, `owm replay RUN`, `owm report RUN`, `owm diff A B`, `owm eval BUNDLE`,
//! `owm inspect BUNDLE`, `owm export BUNDLE --pytorch FILE`, `owm verify BUNDLE [--key PUB]`, `owm keygen KEY`, `owm sign BUNDLE --key KEY`,
//! `owm bench`, `owm serve --device D --bind ADDR --token-file F`.
// The command line reports errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use owm::core::BackendKind;
use owm::data::{DataConfig, DataSource};
use owm::models::ModelConfig;
use owm::optim::{PhaseConfig, Schedule};
use owm::train::{ExperimentConfig, NamedWeights, ReplayOptions, RunReport, TrainOptions, diff_weights, files, replay, train_with, write_report};

#[derive(Parser)]
#[command(name = "owm", version, about = "Open Weight Model: train, evaluate and share verifiable neural-network weights")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model; with no options, an MLP on the embedded 8×8 digits on the CPU.
    Train(Box<TrainArgs>),
    /// Verify a bundle, rebuild its test split and evaluate it again.
    Eval {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// Backend to evaluate on (cpu, ndarray, wgpu or remote:ws://HOST:PORT).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// The token of a remote device's server (`owm serve`).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Evaluate on another data folder of the same kind.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Decrypt encrypted weights (in memory) with this age identity file.
        #[arg(long)]
        identity: Option<PathBuf>,
        /// Decrypt encrypted weights with the passphrase in this file.
        #[arg(long, conflicts_with = "identity")]
        passphrase_file: Option<PathBuf>,
    },
    /// Re-execute a run from its recorded config, seed and data and check every record of its trace; report
    /// the first step and parameter where the replay diverges (or, on another backend, how far it drifts).
    Replay {
        /// The run folder.
        run: PathBuf,
        /// Replay on another backend (cpu, ndarray, wgpu, remote:ws://HOST:PORT): compare by drift instead of
        /// bit for bit.
        #[arg(long)]
        device: Option<String>,
        /// The token of a remote device's server (`owm serve`).
        #[arg(long, requires = "device")]
        token_file: Option<PathBuf>,
        /// Replay with another seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Replay on another data folder of the same kind.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Write the run's `report.html` from its trace (a killed run's partial trace too): charts, and an
    /// explanation of why it stopped, which layers changed most and what looks wrong.
    Report {
        /// The run folder.
        run: PathBuf,
    },
    /// Compare two sets of weights (bundles, run folders or checkpoint files) parameter by parameter.
    Diff {
        /// The first.
        a: PathBuf,
        /// The second.
        b: PathBuf,
        /// Print the comparison as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a run's trace as CSV (`step,epoch,path,stat,value`), selected by steps, paths and statistics.
    Trace {
        /// The run folder (or its trace.jsonl).
        run: PathBuf,
        /// Only steps in FROM..=TO, e.g. `100..200`.
        #[arg(long)]
        steps: Option<String>,
        /// Only parameters matching these globs (comma-separated).
        #[arg(long, value_delimiter = ',')]
        paths: Option<Vec<String>>,
        /// Only these statistics (comma-separated): loss, lr, grad_norm, weight_norm, update_norm, update_ratio,
        /// sign_flips, zero_grads.
        #[arg(long, value_delimiter = ',')]
        stats: Option<Vec<String>>,
        /// Write here instead of standard output.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Check every digest of a bundle (manifest sections, tensors, trace) and its signature; print what does
    /// not match. Exit 6 when something does not.
    Verify {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// The signer's public key (`KEY.pub` from `owm keygen`): the bundle must be signed by it.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Decrypt encrypted weights (in memory) with this age identity file, to check every tensor.
        #[arg(long)]
        identity: Option<PathBuf>,
        /// Decrypt encrypted weights with the passphrase in this file.
        #[arg(long, conflicts_with = "identity")]
        passphrase_file: Option<PathBuf>,
    },
    /// Encrypt a bundle's weights for age recipients or a passphrase into a new bundle folder; the manifest
    /// stays readable and verifiable.
    Encrypt {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// The new, encrypted bundle folder.
        #[arg(long)]
        out: PathBuf,
        /// An age public key (`age1…`) or a file holding one (`KEY.agepub` from `owm keygen --age`); repeatable.
        #[arg(long)]
        recipient: Vec<String>,
        /// Encrypt for the passphrase in this file instead (age allows a passphrase only on its own).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Decrypt an encrypted bundle into a new, plaintext bundle folder (after checking every tensor).
    Decrypt {
        /// The encrypted bundle folder.
        bundle: PathBuf,
        /// The new, plaintext bundle folder.
        #[arg(long)]
        out: PathBuf,
        /// The age identity file.
        #[arg(long)]
        identity: Option<PathBuf>,
        /// The file holding the passphrase.
        #[arg(long, conflicts_with = "identity")]
        passphrase_file: Option<PathBuf>,
    },
    /// Write a bundle's weights as a PyTorch `state_dict` (safetensors, PyTorch layout and names).
    Export {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// The safetensors file to write.
        #[arg(long)]
        pytorch: PathBuf,
    },
    /// Publish a verified bundle to a local registry as NAME@VERSION (identical files and tensors stored once).
    Publish {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// Name.
        #[arg(long)]
        name: String,
        /// Version.
        #[arg(long)]
        version: String,
        /// Registry root (default: $OWM_REGISTRY).
        #[arg(long)]
        registry: Option<PathBuf>,
    },
    /// Reassemble NAME@VERSION from a registry into a bundle folder and verify it.
    Pull {
        /// `NAME@VERSION`.
        reference: String,
        /// The folder to create (default: NAME-VERSION).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Registry root (default: $OWM_REGISTRY).
        #[arg(long)]
        registry: Option<PathBuf>,
    },
    /// List a registry's published versions.
    List {
        /// Registry root (default: $OWM_REGISTRY).
        #[arg(long)]
        registry: Option<PathBuf>,
    },
    /// Print the tree of models NAME@VERSION was built from.
    Lineage {
        /// `NAME@VERSION`.
        reference: String,
        /// Registry root (default: $OWM_REGISTRY).
        #[arg(long)]
        registry: Option<PathBuf>,
    },
    /// Write a new Ed25519 key pair: the secret key to OUT (owner-only) and the public key to OUT.pub.
    Keygen {
        /// Where the secret key goes.
        out: PathBuf,
        /// Make an age X25519 key for encrypting weights (secret in OUT, public key in OUT.agepub) instead of
        /// an Ed25519 signing key.
        #[arg(long)]
        age: bool,
    },
    /// Sign a bundle: `signature.json` lists the bundle digest and every file's SHA-256, signed with KEY.
    Sign {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// The secret key from `owm keygen`.
        #[arg(long)]
        key: PathBuf,
    },
    /// Verify a bundle and print its provenance.
    Inspect {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
    },
    /// Print (and optionally plot) a learning-rate schedule before training with it.
    Schedule {
        /// The schedule: `kind[:key=value...]`, e.g. `cosine:t_max=900:warmup=100` or `step:step_size=30:gamma=0.1`.
        schedule: String,
        /// Base learning rate.
        #[arg(long, default_value_t = 0.1)]
        lr: f64,
        /// Steps to show.
        #[arg(long, default_value_t = 1000)]
        steps: u64,
        /// Print every N-th step.
        #[arg(long, default_value_t = 100)]
        every: u64,
        /// Also write the curve as an SVG chart here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// Serve a local device to `owm train --device remote:ws://HOST:PORT` runs in other processes or machines
    /// (Burn's remote backend over WebSocket, cargo feature `remote`), until Ctrl+C or SIGTERM.
    Serve {
        /// The device to serve: cpu, ndarray or wgpu.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// The address to listen on, such as 127.0.0.1:3000 (port 0: any free port, printed at start). There is
        /// no default: binding beyond loopback is a choice to make, as WebSocket is unencrypted.
        #[arg(long)]
        bind: std::net::SocketAddr,
        /// Accept only clients that present the token in this file (its text, without the line break).
        #[arg(long)]
        token_file: PathBuf,
    },
    /// Measure LeNet-5 training throughput (CIFAR-shaped input, Adam), or with `--ga N` genetic-algorithm
    /// generations per second on the digits MLP; print one JSON line.
    Bench {
        /// Measure N generations of the genetic algorithm (PyGAD's recipe) instead of LeNet-5.
        #[arg(long)]
        ga: Option<usize>,
        /// Measure what default tracing costs on whole `owm train` runs of LeNet-5 for N epochs on random
        /// CIFAR-10-sized data (traced and untraced, twice each), the trace's size and its report's time.
        #[arg(long)]
        tracing: Option<u64>,
        /// Measure saving, loading and verifying a bundle of about N MB of weights.
        #[arg(long)]
        bundle: Option<usize>,
        /// Measure DP-SGD training throughput beside plain training (LeNet-5, Adam, random CIFAR-sized data).
        #[arg(long)]
        dp: bool,
        /// Measure one all-reduce of N f64 values among the ranks `mpirun` launched (an owm built with the `mpi`
        /// feature): seconds per call over `--steps` calls after `--warmup`, printed by rank 0.
        #[arg(long)]
        all_reduce: Option<usize>,
        /// Training images for `--tracing`.
        #[arg(long, default_value_t = 50_000)]
        train_items: usize,
        /// The training-step workload: lenet-cifar (LeNet-5 on CIFAR-shaped input), lenet (on
        /// Fashion-MNIST-shaped input), mlp (784-256-10) or resnet (depth 8, CIFAR-shaped).
        #[arg(long, default_value = "lenet-cifar")]
        model: String,
        /// With the per-layer statistics `owm train` traces at every step.
        #[arg(long)]
        stats: bool,
        /// Measure evaluation (forward passes without autodiff) instead of training steps.
        #[arg(long)]
        eval: bool,
        /// Backend to measure.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Images per step.
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 50)]
        steps: usize,
        /// Untimed warm-up steps.
        #[arg(long, default_value_t = 5)]
        warmup: usize,
    },
}

/// What `--data FILE_OR_DIR` holds.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TaskKind {
    /// A CSV table: one row per item, `--target` names the class column.
    Tabular,
    /// A `label<TAB>text` file.
    Text,
    /// A `user,item,click[,timestamp]` file.
    Recsys,
    /// An image folder (one sub-folder per class), or MNIST IDX / CIFAR-10 binary files.
    Image,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelKind {
    Mlp,
    Lenet,
    Logistic,
    EmbeddingBag,
    TextCnn,
    Mf,
    Fm,
}

/// `--on-mismatch` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum MismatchArg {
    Error,
    Skip,
    Adapt,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Start from an experiment config (JSON); the options below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dataset: digits, mnist, fashion-mnist or cifar10 (files in `--data-dir`); with `--task`, the file or
    /// folder to train on.
    #[arg(long)]
    data: Option<String>,
    /// Folder with the dataset's files (MNIST IDX or CIFAR-10 binary batches).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// What `--data FILE_OR_DIR` holds: tabular (CSV), text (label<TAB>text), recsys (user,item,click) or image.
    #[arg(long, value_enum, requires = "data")]
    task: Option<TaskKind>,
    /// A separate test file (tabular, text); otherwise `--test-fraction` of `--data` is held out (stratified).
    #[arg(long, requires = "task")]
    test_data: Option<PathBuf>,
    /// Held-out fraction when there is no separate test split.
    #[arg(long)]
    test_fraction: Option<f64>,
    /// Tabular: the target (class) column.
    #[arg(long)]
    target: Option<String>,
    /// Tabular: column names of a file without a header (comma-separated).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Tabular: columns read as categories (comma-separated).
    #[arg(long, value_delimiter = ',')]
    categorical: Option<Vec<String>>,
    /// Tabular: columns read as numbers (comma-separated).
    #[arg(long, value_delimiter = ',')]
    numeric: Option<Vec<String>>,
    /// Tabular: columns left out (comma-separated).
    #[arg(long, value_delimiter = ',')]
    ignore: Option<Vec<String>>,
    /// Tabular: rows with missing values (`?`, `NA`, empty): drop, mean or median (mode for categories).
    #[arg(long)]
    missing: Option<String>,
    /// Tabular: scaling of numeric columns: standard, min-max, robust or none.
    #[arg(long)]
    scaling: Option<String>,
    /// Tabular: encoding of categories: one-hot or ordinal.
    #[arg(long)]
    encoding: Option<String>,
    /// Tabular: target values mapped to classes, `FROM=TO` comma-separated (`1=sick,2=sick`).
    #[arg(long, value_delimiter = ',')]
    target_map: Option<Vec<String>>,
    /// Text: read a CSV file with a header, taking the label and the text from these two columns.
    #[arg(long, value_delimiter = ',')]
    text_columns: Option<Vec<String>>,
    /// Text: tokenizer: words, chars, char-bigrams or jieba.
    #[arg(long)]
    tokenizer: Option<String>,
    /// Text: tokens per item (truncated or padded).
    #[arg(long)]
    max_len: Option<usize>,
    /// Text: minimum training frequency of a token.
    #[arg(long)]
    min_freq: Option<usize>,
    /// Text: vocabulary size cap.
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Recsys: non-clicks drawn per click.
    #[arg(long)]
    negatives: Option<usize>,
    /// Recsys: test each user's latest interactions (needs a timestamp column).
    #[arg(long)]
    chronological: bool,
    /// Recsys: side features of users, a CSV whose first column names the user (use with `--model fm`).
    #[arg(long)]
    user_features: Option<PathBuf>,
    /// Recsys: side features of items, a CSV whose first column names the item (use with `--model fm`).
    #[arg(long)]
    item_features: Option<PathBuf>,
    /// Image: read images as one luma channel.
    #[arg(long)]
    grayscale: bool,
    /// Image: augment training images with a random crop (padding 4) and horizontal flip.
    #[arg(long)]
    augment: bool,
    /// Licence of the trained weights (SPDX, e.g. Apache-2.0), recorded in the bundle.
    #[arg(long)]
    weights_license: Option<String>,
    /// Licence of the training data (SPDX, e.g. CC-BY-4.0), recorded in the bundle.
    #[arg(long)]
    data_license: Option<String>,
    /// Keep only these classes (by name, comma-separated), relabelled in this order (`--classes 5,6,7,8,9`).
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<String>>,
    /// Start from this bundle's (or run folder's) tensors after the init plan: transfer learning
    /// (`--init-from` is the same option).
    #[arg(long, alias = "init-from")]
    transfer_from: Option<PathBuf>,
    /// Transfer: rename source paths, `FROM=TO` (exact; a prefix when FROM ends in `.`; a glob with `*`;
    /// `re:REGEX=REPLACEMENT`), comma-separated, first match wins.
    #[arg(long, value_delimiter = ',', requires = "transfer_from")]
    transfer_map: Option<Vec<String>>,
    /// Transfer: module paths (globs, comma-separated) left as initialised, e.g. a new head `layers.1.*`.
    #[arg(long, value_delimiter = ',', requires = "transfer_from")]
    transfer_exclude: Option<Vec<String>>,
    /// Transfer: on a shape mismatch, error, skip (and report) or adapt (new head, first convolution).
    #[arg(long, value_enum, requires = "transfer_from")]
    on_mismatch: Option<MismatchArg>,
    /// Decrypt the encrypted bundles the run starts from (`--transfer-from`, pretrained sources) in memory
    /// with this age identity file.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Decrypt them with the passphrase in this file.
    #[arg(long, conflicts_with = "identity")]
    passphrase_file: Option<PathBuf>,
    /// Transfer: freeze the transferred tensors while training.
    #[arg(long, requires = "transfer_from")]
    freeze_transferred: bool,
    /// Train with example-level differential privacy (DP-SGD), the noise solved for this ε over the run's
    /// step budget; the guarantee goes into the manifest and the model card.
    #[arg(long, conflicts_with = "dp_noise")]
    dp_epsilon: Option<f64>,
    /// DP-SGD with this noise multiplier instead (the ε spent is reported).
    #[arg(long)]
    dp_noise: Option<f64>,
    /// DP-SGD: δ (default 1e-5).
    #[arg(long)]
    dp_delta: Option<f64>,
    /// DP-SGD: per-example gradient norm bound (default 1).
    #[arg(long)]
    dp_clip: Option<f64>,
    /// Model (default: the task's: mlp for tabular, embedding-bag for text, mf for recsys, lenet for images).
    #[arg(long, value_enum)]
    model: Option<ModelKind>,
    /// Embedding or factor width (embedding-bag, text-cnn, mf, fm).
    #[arg(long)]
    dim: Option<usize>,
    /// Hidden widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Optimiser phases: gd, sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, chain, ga, sa, es, each
    /// with optional `:key=value` settings and criteria, phases separated by commas
    /// (`ga:generations=30:population=40,adam`). Replaces the config's phases.
    #[arg(long)]
    optimizer: Option<String>,
    /// Learning rate, for every phase that has one (other settings are kept).
    #[arg(long)]
    lr: Option<f64>,
    /// Momentum, for every phase that has one.
    #[arg(long)]
    momentum: Option<f64>,
    /// Weight decay, for every phase that has one.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Clip the gradients' global norm, in every gradient phase.
    #[arg(long)]
    clip_norm: Option<f64>,
    /// Learning-rate schedule of every gradient phase: `kind[:key=value...]` (see `owm schedule`).
    #[arg(long)]
    schedule: Option<String>,
    /// Population of every search phase (ga, es).
    #[arg(long)]
    population: Option<usize>,
    /// Noise scale of every evolution-strategy phase.
    #[arg(long)]
    sigma: Option<f64>,
    /// Initial temperature of every annealing phase.
    #[arg(long)]
    t0: Option<f64>,
    /// Epoch budget.
    #[arg(long)]
    epochs: Option<u64>,
    /// Step (or generation) budget.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Candidate-evaluation budget (search methods).
    #[arg(long)]
    max_evaluations: Option<u64>,
    /// Wall-clock budget in seconds.
    #[arg(long)]
    max_seconds: Option<f64>,
    /// Stop when the round loss has not improved for this many rounds.
    #[arg(long)]
    patience: Option<u64>,
    /// Stop once the epoch loss is at or below this.
    #[arg(long)]
    target_loss: Option<f64>,
    /// Mini-batch size.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Root seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: cpu (flex), ndarray, wgpu, or remote:ws://HOST:PORT (a device `owm serve` hosts).
    #[arg(long)]
    device: Option<String>,
    /// The token of a remote device's server (`owm serve --token-file`); also with `--resume`.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Use only the first N training items.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N test items.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Run folder (default: runs/NAME-sSEED, numbered if taken).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this folder from its last checkpoint (a run that was killed); its recorded config
    /// is used, so no other training option may be given but `--device` (a remote run's server at another
    /// address) and `--token-file`.
    #[arg(long, conflicts_with_all = [
        "config", "data", "data_dir", "model", "hidden", "optimizer", "lr", "momentum", "weight_decay", "clip_norm", "schedule",
        "population", "sigma", "t0", "epochs", "max_steps", "max_evaluations", "max_seconds", "patience", "target_loss",
        "batch_size", "seed", "train_limit", "test_limit", "out", "stats_every", "trace_paths", "histogram_every",
        "digest_every", "snapshot_paths", "snapshot_steps", "checkpoint_every", "task", "test_data", "test_fraction", "target",
        "columns", "categorical", "numeric", "ignore", "missing", "scaling", "encoding", "target_map", "text_columns", "tokenizer", "max_len",
        "min_freq", "max_vocab", "negatives", "chronological", "user_features", "item_features", "grayscale", "augment", "dim", "weights_license", "data_license",
        "classes", "transfer_from", "transfer_map", "transfer_exclude", "on_mismatch", "freeze_transferred",
        "dp_epsilon", "dp_noise", "dp_delta", "dp_clip",
    ])]
    resume: Option<PathBuf>,
    /// Per-layer statistics every N steps (0: off).
    #[arg(long)]
    stats_every: Option<u64>,
    /// Only these parameter paths (globs, comma-separated) get statistics and histograms.
    #[arg(long, value_delimiter = ',')]
    trace_paths: Option<Vec<String>>,
    /// A histogram of each traced parameter every N steps (0: off).
    #[arg(long)]
    histogram_every: Option<u64>,
    /// A digest of all weights every N steps (0: initial and final only).
    #[arg(long)]
    digest_every: Option<u64>,
    /// Write every value of these parameter paths (globs, comma-separated) at `--snapshot-steps`.
    #[arg(long, value_delimiter = ',')]
    snapshot_paths: Option<Vec<String>>,
    /// Steps (comma-separated, 0 = initial weights) at which `--snapshot-paths` are written.
    #[arg(long, value_delimiter = ',')]
    snapshot_steps: Option<Vec<u64>>,
    /// Write a checkpoint every N steps (0: never).
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print the run's summary as one JSON line (accuracy, macro F1, steps, seconds of the run and of its
    /// training loop, weights digest, folders) instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The command runs on a thread of the tensor kernels' pool (see `owm::train::on_pool`), with the main
    // thread's stack size.
    let _ = rayon::ThreadPoolBuilder::new().stack_size(8 << 20).build_global();
    match owm::train::on_pool(|| run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message already holds (OWM's
/// errors write their source into their own message, which also keeps it reachable as `source()`).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Train(args) => train_command(*args),
        Command::Eval { bundle, device, token_file, data_dir, identity, passphrase_file } => {
            let ids = identities(identity.as_deref(), passphrase_file.as_deref())?;
            let backend = with_token(device.parse()?, token_file.as_deref())?;
            eval_command(&bundle_dir(&bundle), backend, data_dir, ids.as_ref())
        }
        Command::Encrypt { bundle, out, recipient, passphrase_file } => {
            let mut recipients = Vec::new();
            for r in recipient {
                let key = if Path::new(&r).is_file() { std::fs::read_to_string(&r).with_context(|| format!("reading {r}"))? } else { r };
                recipients.push(owm::share::Recipient::Key(key.trim().to_string()));
            }
            if let Some(p) = &passphrase_file {
                recipients.push(owm::share::Recipient::Passphrase(read_passphrase(p)?));
            }
            let record = owm::share::encrypt_bundle(&bundle_dir(&bundle), &out, &recipients)?;
            println!(
                "wrote {} (weights encrypted for {}; ciphertext SHA-256 {}); sign it again if it was signed",
                out.display(),
                record.recipients.join(", "),
                record.sha256
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Decrypt { bundle, out, identity, passphrase_file } => {
            let ids = identities(identity.as_deref(), passphrase_file.as_deref())?.context("give --identity FILE or --passphrase-file FILE")?;
            owm::share::decrypt_bundle(&bundle_dir(&bundle), &out, &ids)?;
            println!("wrote {} (every tensor checked against the manifest)", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { bundle } => inspect_command(&bundle_dir(&bundle)),
        Command::Verify { bundle, key, identity, passphrase_file } => {
            let ids = identities(identity.as_deref(), passphrase_file.as_deref())?;
            verify_command(&bundle_dir(&bundle), key.as_deref(), ids.as_ref())
        }
        Command::Export { bundle, pytorch } => {
            let b = owm::share::load_bundle(bundle_dir(&bundle))?;
            let n = owm::share::export_pytorch(&b, &pytorch)?;
            println!("wrote {} ({n} tensors, PyTorch layout): model.load_state_dict(safetensors.torch.load_file(...))", pytorch.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Publish { bundle, name, version, registry } => {
            let entry = owm::share::Registry::open(registry.as_deref())?.publish(&bundle_dir(&bundle), &name, &version)?;
            println!("published {}@{} (bundle digest {})", entry.name, entry.version, entry.bundle_digest);
            Ok(ExitCode::SUCCESS)
        }
        Command::Pull { reference, out, registry } => {
            let (name, version) = owm::share::parse_ref(&reference)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}-{version}")));
            let entry = owm::share::Registry::open(registry.as_deref())?.pull(&name, &version, &out)?;
            println!("pulled {reference} into {} (verified, bundle digest {})", out.display(), entry.bundle_digest);
            Ok(ExitCode::SUCCESS)
        }
        Command::List { registry } => {
            for e in owm::share::Registry::open(registry.as_deref())?.list()? {
                println!("{}@{}  {}", e.name, e.version, e.bundle_digest);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Lineage { reference, registry } => {
            let (name, version) = owm::share::parse_ref(&reference)?;
            for line in owm::share::Registry::open(registry.as_deref())?.lineage(&name, &version)? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen { out, age: true } => {
            let public = owm::share::generate_age_key(&out)?;
            let public_file = PathBuf::from(format!("{}.agepub", out.display()));
            owm::core::write_atomic(&public_file, format!("{public}\n").as_bytes())?;
            println!("age identity {} (keep it private)\nrecipient {public} (also in {})", out.display(), public_file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen { out, .. } => {
            let (secret, public) = owm::share::generate_keypair(&out)?;
            println!("secret key {} (keep it private)\npublic key {}", secret.display(), public.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign { bundle, key } => {
            let dir = bundle_dir(&bundle);
            let signature = owm::share::sign_bundle(&dir, &owm::share::read_secret_key(&key)?)?;
            println!(
                "signed {} ({} files, bundle digest {}) with key {}",
                dir.display(),
                signature.statement.files.len(),
                signature.statement.bundle_digest,
                signature.public_key
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { run, device, token_file, seed, data_dir, quiet } => {
            let backend = device.map(|d| with_token(d.parse()?, token_file.as_deref())).transpose()?;
            replay_command(&run, backend, seed, data_dir, quiet)
        }
        Command::Serve { device, bind, token_file } => serve_command(&device, bind, &token_file),
        Command::Report { run } => {
            let trace = owm::trace::read_trace(run.join(files::TRACE))?;
            let path = write_report(&run, &trace)?;
            let explanation = owm::trace::explain(&trace);
            println!("{}", explanation.stop);
            for f in &explanation.findings {
                println!("{:?}: {}", f.severity, f.message);
            }
            if trace.torn_tail {
                println!("(the trace's last line was torn by a kill and is left out)");
            }
            println!("wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { a, b, json } => {
            let diff = diff_weights(&NamedWeights::load(&a)?, &NamedWeights::load(&b)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
            } else {
                println!("A: {}\nB: {}", diff.a, diff.b);
                println!("{:<22} {:>12} {:>12} {:>12} {:>10} {:>9} {:>8}", "parameter", "‖a‖", "‖b−a‖", "‖b−a‖/‖a‖", "max|b−a|", "cosine", "changed");
                for p in &diff.params {
                    println!(
                        "{:<22} {:>12.4e} {:>12.4e} {:>12.4e} {:>10.3e} {:>9.5} {:>7.1}%",
                        p.path,
                        p.norm_a,
                        p.diff_norm,
                        p.relative,
                        p.max_abs,
                        p.cosine,
                        p.changed * 100.0
                    );
                }
                for line in diff.explain() {
                    println!("- {line}");
                }
            }
            Ok(if diff.identical() { ExitCode::SUCCESS } else { ExitCode::from(5) })
        }
        Command::Trace { run, steps, paths, stats, csv } => trace_command(&run, steps, paths, stats, csv),
        Command::Schedule { schedule, lr, steps, every, svg } => schedule_command(&schedule, lr, steps, every, svg),
        Command::Bench { all_reduce: Some(values), steps, warmup, .. } => {
            let ranks = Ranks::launched()?;
            let Some(group) = ranks.collective() else {
                bail!("--all-reduce measures MPI ranks: run it under mpirun, with an owm built with `--features mpi`");
            };
            let mut buffer = vec![1.0f64; values];
            for _ in 0..warmup {
                group.all_reduce_sum(&mut buffer)?;
            }
            let started = std::time::Instant::now();
            for _ in 0..steps {
                group.all_reduce_sum(&mut buffer)?;
            }
            let seconds = started.elapsed().as_secs_f64() / steps.max(1) as f64;
            if group.rank() == 0 {
                let bytes = 8 * values;
                println!(
                    "{}",
                    serde_json::json!({ "values": values, "bytes": bytes, "processes": group.world(), "seconds_per_call": seconds, "bytes_per_second": bytes as f64 / seconds })
                );
            }
            drop(group);
            ranks.finish();
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { bundle: Some(mb), .. } => {
            println!("{}", serde_json::to_string(&owm::train::bundle_throughput(mb, &std::env::temp_dir())?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { tracing: Some(epochs), device, train_items, .. } => {
            println!("{}", serde_json::to_string(&owm::train::tracing_cost(device.parse()?, train_items, epochs)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { dp: true, device, batch_size, steps, warmup, .. } => {
            println!("{}", serde_json::to_string(&owm::train::dp_throughput(device.parse()?, batch_size, steps, warmup)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { ga: Some(generations), device, .. } => {
            println!("{}", serde_json::to_string(&owm::train::ga_throughput(device.parse()?, generations)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { device, batch_size, steps, warmup, model, stats, eval, .. } => {
            let Some((_, workload)) = owm::train::Workload::ALL.into_iter().find(|(name, _)| *name == model) else {
                bail!("--model {model}: one of {}", owm::train::Workload::ALL.map(|(name, _)| name).join(", "));
            };
            let result = if eval {
                owm::train::eval_throughput(device.parse()?, workload, batch_size, steps, warmup)?
            } else {
                owm::train::step_throughput(device.parse()?, workload, batch_size, steps, warmup, stats)?
            };
            let mut result = serde_json::to_value(&result)?;
            result["peak_rss_bytes"] = serde_json::json!(peak_rss_bytes());
            println!("{result}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn train_command(args: TrainArgs) -> Result<ExitCode> {
    if let Some(run) = &args.resume {
        return resume_command(run, args.device.as_deref(), args.token_file.as_deref(), args.quiet, args.json);
    }
    let config = experiment(&args)?;
    let ranks = Ranks::launched()?;
    let run_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => free_dir(&Path::new("runs").join(format!("{}-s{}", config.name, config.seed))),
    };
    let (rank, processes) = ranks.place().unwrap_or((0, 1));
    if rank == 0 {
        let across = if processes > 1 { format!(" across {processes} processes") } else { String::new() };
        eprintln!(
            "owm: training {} on {} with {} ({}){across}, seed {} -> {}",
            config.model.name(),
            config.data.name(),
            config.optimizer_names(),
            config.backend,
            config.seed,
            run_dir.display()
        );
    }
    let ids = identities(args.identity.as_deref(), args.passphrase_file.as_deref())?;
    let options = TrainOptions { progress: !args.quiet, identities: ids.as_ref(), collective: ranks.collective(), ..TrainOptions::default() };
    let report = train_with(&config, &run_dir, options)?;
    ranks.finish();
    print_run(&report, args.json, &ranks)
}

/// The ranks `mpirun` launched this process among (with the `mpi` feature), or this process alone.
struct Ranks {
    #[cfg(feature = "mpi")]
    mpi: Option<std::sync::Arc<owm::train::mpi::Mpi>>,
}

impl Ranks {
    /// MPI's ranks when an MPI launcher started this process; alone otherwise. Without the `mpi` feature a
    /// launch by `mpirun` is refused: every process would train the whole run into the same folder.
    fn launched() -> Result<Self> {
        #[cfg(feature = "mpi")]
        {
            let mpi = owm::train::mpi::launched().then(owm::train::mpi::Mpi::init).transpose()?.map(std::sync::Arc::new);
            Ok(Self { mpi })
        }
        #[cfg(not(feature = "mpi"))]
        {
            if owm::train::mpi::launched() {
                bail!("started by an MPI launcher, but this owm was built without the `mpi` feature: rebuild with `--features mpi` (docs/scaling.md)");
            }
            Ok(Self {})
        }
    }

    fn collective(&self) -> Option<std::sync::Arc<dyn owm::core::Collective>> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return Some(mpi.clone());
        }
        None
    }

    /// (rank, processes), when there are several.
    fn place(&self) -> Option<(usize, usize)> {
        self.collective().filter(|c| c.world() > 1).map(|c| (c.rank(), c.world()))
    }

    /// Seconds this rank spent in all-reduces (MPI runs).
    fn all_reduce_seconds(&self) -> Option<f64> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return Some(mpi.all_reduce_seconds());
        }
        None
    }

    /// Finalises MPI after a successful run.
    fn finish(&self) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.finish();
        }
    }
}

/// Continues a killed run from its last checkpoint, or from the start when it died before its first one.
fn resume_command(run: &Path, device: Option<&str>, token_file: Option<&Path>, quiet: bool, json: bool) -> Result<ExitCode> {
    let mut config = ExperimentConfig::load(&run.join(files::CONFIG)).with_context(|| format!("{} is not a run folder that can be resumed", run.display()))?;
    if let Some(device) = device {
        // The same device behind another address (a restarted server); any other device would round differently.
        config.backend = match (config.backend, device.parse::<BackendKind>()?) {
            (BackendKind::Remote(_), moved @ BackendKind::Remote(_)) => moved,
            (own, other) => bail!("--resume continues on the run's own device ({own}); --device only moves a remote run to another server, not to {other}"),
        };
    }
    config.backend = with_token(config.backend, token_file)?;
    if run.join(files::BUNDLE).join("manifest.json").is_file() {
        bail!("{} is complete (it has its bundle); nothing to resume", run.display());
    }
    let checkpoint = run.join(files::CHECKPOINT);
    let ranks = Ranks::launched()?;
    let resume = if checkpoint.is_file() {
        let step = owm::train::Checkpoint::load(&checkpoint)?.total_steps;
        eprintln!("owm: resuming {} from its checkpoint at step {step}", run.display());
        Some(checkpoint)
    } else {
        eprintln!("owm: {} has no checkpoint yet; training it again from the start", run.display());
        let trace = run.join(files::TRACE);
        // Rank 0 alone writes the run folder.
        if trace.exists() && ranks.place().is_none_or(|(rank, _)| rank == 0) {
            std::fs::remove_file(&trace).with_context(|| format!("removing {}", trace.display()))?;
        }
        None
    };
    let report = train_with(&config, run, TrainOptions { progress: !quiet, resume, collective: ranks.collective(), ..TrainOptions::default() })?;
    ranks.finish();
    print_run(&report, json, &ranks)
}

/// `backend` reached with the token in `token_file`, which only a remote device takes.
fn with_token(backend: BackendKind, token_file: Option<&Path>) -> Result<BackendKind> {
    Ok(match (backend, token_file) {
        (BackendKind::Remote(remote), Some(file)) => BackendKind::Remote(remote.with_token_file(file)?),
        (local, Some(_)) => bail!("--token-file is for a remote device (--device remote:ws://HOST:PORT), not {local}"),
        (backend, None) => backend,
    })
}

/// `owm serve`: hosts a local device for remote runs until Ctrl+C or SIGTERM.
fn serve_command(device: &str, bind: std::net::SocketAddr, token_file: &Path) -> Result<ExitCode> {
    let backend: BackendKind = device.parse()?;
    if let BackendKind::Remote(remote) = &backend {
        bail!("owm serve hosts a local device (cpu, ndarray or wgpu), not {remote}");
    }
    #[cfg(feature = "remote")]
    {
        let token = owm::core::remote::read_token(token_file)?;
        let device = backend.device()?;
        let listener = std::net::TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        let at = listener.local_addr().with_context(|| format!("the address bound for {bind}"))?;
        if !at.ip().is_loopback() {
            eprintln!("owm serve: {at} is reachable from other machines, over unencrypted WebSocket: serve only on a trusted network");
        }
        // The first line names the address (port 0 picks one), for people and for scripts that start a server.
        println!("owm serve: {backend} on ws://{at}; clients: owm train --device remote:ws://{at} --token-file {}", token_file.display());
        owm::core::remote::serve(device, listener, &token)?;
        Ok(ExitCode::SUCCESS)
    }
    #[cfg(not(feature = "remote"))]
    bail!("owm serve needs remote devices, which this binary was built without ({bind}, {}): rebuild with --features remote", token_file.display())
}

fn print_run(report: &RunReport, json: bool, ranks: &Ranks) -> Result<ExitCode> {
    let e = &report.evaluation;
    let code = if report.training.stop_reason.is_failure() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    let place = ranks.place();
    if let Some((rank, processes)) = place.filter(|&(rank, _)| rank > 0 && !json) {
        // The other ranks' run folders were scratch; rank 0 prints the run.
        println!("rank {rank} of {processes}: weights digest {}", report.manifest.weights_digest);
        return Ok(code);
    }
    if json {
        let mut summary = serde_json::json!({
            "accuracy": e.report.accuracy,
            "macro_f1": e.report.macro_f1,
            "test_items": e.report.total,
            "steps": report.training.steps,
            "epochs": report.training.epochs,
            "train_items": report.training.train_items,
            "final_train_loss": report.training.final_train_loss,
            "stop_reason": report.training.stop_reason.to_string(),
            "seconds": report.seconds,
            "train_seconds": report.train_seconds,
            "weights_digest": report.manifest.weights_digest,
            "peak_rss_bytes": peak_rss_bytes(),
            "run_dir": report.run_dir,
            "bundle_dir": report.bundle_dir,
        });
        if let Some((rank, processes)) = place {
            summary["rank"] = serde_json::json!(rank);
            summary["processes"] = serde_json::json!(processes);
            summary["all_reduce_seconds"] = serde_json::json!(ranks.all_reduce_seconds());
        }
        println!("{summary}");
        return Ok(code);
    }
    for (i, p) in report.training.phases.iter().enumerate() {
        println!("phase {} {}: {} steps, {} evaluations, stopped: {}", i + 1, p.optimizer, p.steps, p.evaluations, p.stop_reason);
    }
    println!("stopped: {}", report.training.stop_reason);
    println!(
        "test accuracy {:.4}  macro F1 {:.4}  ({} items, {} steps, {:.1} s, of which training {:.1} s)",
        e.report.accuracy, e.report.macro_f1, e.report.total, report.training.steps, report.seconds, report.train_seconds
    );
    print_scores(e);
    if let Some(p) = &report.privacy {
        println!(
            "privacy: ε = {:.4}, δ = {} (DP-SGD, RDP accountant; {} steps at sampling rate {:.5}, clip {}, noise multiplier {:.4})",
            p.epsilon, p.delta, p.steps, p.sampling_rate, p.clip_norm, p.noise_multiplier
        );
    }
    if let Some(t) = &report.transfer {
        println!("transfer from {}: {} (transfer.md)", t.source, t.summary());
    }
    println!("weights digest {}", report.manifest.weights_digest);
    println!("run folder {}  (report.html, trace.jsonl, loss.svg, update_ratio.svg, evaluation.md)", report.run_dir.display());
    println!("bundle {}", report.bundle_dir.display());
    Ok(code)
}

/// This process's peak resident memory (`VmHWM`, the kernel's high-water mark that `getrusage` reports as
/// `ru_maxrss`), where `/proc` has it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

/// The data source of `--task` on `path`, with the task's flags.
fn task_source(task: TaskKind, path: PathBuf, args: &TrainArgs) -> Result<DataSource> {
    use owm::data::tabular::{ColumnKind, Encoding, Missing, Scaling, TabularOptions};
    if !path.exists() {
        bail!("--data {}: no such file or folder", path.display());
    }
    Ok(match task {
        TaskKind::Tabular => {
            let mut o = TabularOptions::default();
            if let Some(t) = &args.target {
                o.target = t.clone();
            } else {
                bail!("--task tabular needs --target COLUMN");
            }
            if let Some(names) = &args.columns {
                (o.header, o.names) = (false, names.clone());
            }
            for (cols, kind) in [(&args.categorical, ColumnKind::Categorical), (&args.numeric, ColumnKind::Numeric)] {
                o.kinds.extend(cols.iter().flatten().map(|c| (c.clone(), kind)));
            }
            o.ignore = args.ignore.clone().unwrap_or_default();
            if let Some(m) = &args.missing {
                o.missing = match m.as_str() {
                    "drop" => Missing::Drop,
                    "mean" => Missing::Mean,
                    "median" => Missing::Median,
                    _ => bail!("--missing {m}: drop, mean or median"),
                };
            }
            if let Some(m) = &args.scaling {
                o.scaling = match m.as_str() {
                    "standard" => Scaling::Standard,
                    "min-max" => Scaling::MinMax,
                    "robust" => Scaling::Robust,
                    "none" => Scaling::None,
                    _ => bail!("--scaling {m}: standard, min-max, robust or none"),
                };
            }
            if let Some(m) = &args.encoding {
                o.encoding = match m.as_str() {
                    "one-hot" => Encoding::OneHot,
                    "ordinal" => Encoding::Ordinal,
                    _ => bail!("--encoding {m}: one-hot or ordinal"),
                };
            }
            for pair in args.target_map.iter().flatten() {
                let (from, to) = pair.split_once('=').with_context(|| format!("--target-map {pair}: expected FROM=TO"))?;
                o.target_map.insert(from.to_string(), to.to_string());
            }
            DataSource::Tabular { path, test: args.test_data.clone(), options: o }
        }
        TaskKind::Text => {
            use owm::data::text::Tokenizer;
            let mut text = owm::data::TextSource::default();
            if let Some(t) = &args.tokenizer {
                text.options.tokenizer = match t.as_str() {
                    "words" => Tokenizer::Words,
                    "chars" => Tokenizer::Chars,
                    "char-bigrams" => Tokenizer::CharBigrams,
                    "jieba" => Tokenizer::Jieba,
                    _ => bail!("--tokenizer {t}: words, chars, char-bigrams or jieba"),
                };
            }
            text.max_len = args.max_len.unwrap_or(text.max_len);
            text.min_freq = args.min_freq.unwrap_or(text.min_freq);
            text.max_vocab = args.max_vocab.or(text.max_vocab);
            match args.text_columns.as_deref() {
                None => {}
                Some([label, body]) => text.csv_columns = Some([label.clone(), body.clone()]),
                Some(other) => bail!("--text-columns takes two column names, LABEL,TEXT; got {}", other.join(",")),
            }
            DataSource::Text { path, test: args.test_data.clone(), text }
        }
        TaskKind::Recsys => {
            let mut options =
                owm::data::InteractionOptions { user_features: args.user_features.clone(), item_features: args.item_features.clone(), ..Default::default() };
            if args.chronological {
                options.split = owm::data::InteractionSplit::Chronological;
            }
            options.negatives = args.negatives.unwrap_or(options.negatives);
            DataSource::Interactions { path, options }
        }
        TaskKind::Image => {
            let has = |name: &str| path.join(name).is_file() || path.join(format!("{name}.gz")).is_file();
            if has("train-images-idx3-ubyte") {
                DataSource::Mnist { dir: path }
            } else if path.join("data_batch_1.bin").is_file() || path.join("cifar-10-batches-bin").is_dir() {
                DataSource::Cifar10 { dir: path }
            } else {
                DataSource::ImageFolder { dir: path, grayscale: args.grayscale }
            }
        }
    })
}

/// The task's scores beyond accuracy and F1: probability scores, rankings against the baseline.
fn print_scores(e: &owm::eval::Evaluation) {
    if let Some(s) = &e.scores {
        println!("ROC AUC {:.4}  average precision {:.4}  log loss {:.4}", s.roc_auc, s.average_precision, s.log_loss);
    }
    if let Some(r) = &e.ranking {
        let line = |m: &owm::eval::RankingMetrics| {
            format!("NDCG@{k} {:.4}  HitRate@{k} {:.4}  Recall@{k} {:.4}  MAP@{k} {:.4}", m.ndcg, m.hit_rate, m.recall, m.map, k = m.k)
        };
        println!("ranking over {} users: {}", r.groups, line(&r.model));
        if let Some((name, m)) = &r.baseline {
            println!("{name} baseline: {}", line(m));
        }
    }
}

fn experiment(args: &TrainArgs) -> Result<ExperimentConfig> {
    let mut c = match &args.config {
        Some(path) => ExperimentConfig::load(path)?,
        None => ExperimentConfig::default(),
    };
    if let Some(task) = args.task {
        let path = PathBuf::from(args.data.as_deref().unwrap_or_default());
        c.data = DataConfig::new(task_source(task, path, args)?);
        c.model = match task {
            TaskKind::Tabular => ModelConfig::Mlp { hidden: vec![64] },
            TaskKind::Text => ModelConfig::EmbeddingBag { dim: 64 },
            TaskKind::Recsys => ModelConfig::MatrixFactorization { dim: 16 },
            TaskKind::Image => ModelConfig::LeNet5 { conv1_padding: 0 },
        };
        // Tables are scaled by their own preparation; ids and tokens are not numbers.
        c.normalize = task == TaskKind::Image;
        c.name = format!("{}-{}", c.data.name(), c.model.name());
    } else if let Some(name) = &args.data {
        let dir = || args.data_dir.clone().context("--data-dir is required for this dataset");
        c.data = DataConfig::new(match name.as_str() {
            "digits" => DataSource::Digits,
            "mnist" => DataSource::Mnist { dir: dir()? },
            "fashion-mnist" => DataSource::FashionMnist { dir: dir()? },
            "cifar10" => DataSource::Cifar10 { dir: dir()? },
            other => bail!("unknown dataset `{other}`: digits, mnist, fashion-mnist or cifar10, or a file or folder with --task"),
        });
    } else if args.data_dir.is_some() {
        bail!("--data-dir needs --data mnist|fashion-mnist|cifar10");
    }
    let task_only = [
        ("target", args.target.is_some()),
        ("columns", args.columns.is_some()),
        ("categorical", args.categorical.is_some()),
        ("numeric", args.numeric.is_some()),
        ("ignore", args.ignore.is_some()),
        ("missing", args.missing.is_some()),
        ("scaling", args.scaling.is_some()),
        ("encoding", args.encoding.is_some()),
        ("target-map", args.target_map.is_some()),
        ("tokenizer", args.tokenizer.is_some()),
        ("text-columns", args.text_columns.is_some()),
        ("max-len", args.max_len.is_some()),
        ("min-freq", args.min_freq.is_some()),
        ("max-vocab", args.max_vocab.is_some()),
        ("negatives", args.negatives.is_some()),
        ("chronological", args.chronological),
        ("user-features", args.user_features.is_some()),
        ("item-features", args.item_features.is_some()),
        ("grayscale", args.grayscale),
    ];
    if let Some((flag, _)) = task_only.iter().find(|(_, given)| *given).filter(|_| args.task.is_none()) {
        bail!("--{flag} needs --task and --data FILE_OR_DIR");
    }
    if let Some(f) = args.test_fraction {
        c.data.test_fraction = f;
    }
    for (component, license) in [("weights", &args.weights_license), ("data", &args.data_license)] {
        if let Some(l) = license {
            c.licenses.insert(component.into(), l.clone());
        }
    }
    if args.augment {
        c.data.augment = Some(owm::data::Augment::cifar());
    }
    c.data.classes = args.classes.clone().or(c.data.classes.take());
    if let Some(from) = &args.transfer_from {
        let mut t = owm::init::Transfer::from(bundle_dir(from).display().to_string()).freeze(args.freeze_transferred);
        for spec in args.transfer_map.iter().flatten() {
            t = t.rule(owm::init::PathRule::parse(spec)?);
        }
        t.exclude = args.transfer_exclude.clone().unwrap_or_default();
        t.on_mismatch = match args.on_mismatch.unwrap_or(MismatchArg::Error) {
            MismatchArg::Error => owm::init::OnMismatch::Error,
            MismatchArg::Skip => owm::init::OnMismatch::Skip,
            MismatchArg::Adapt => owm::init::OnMismatch::Adapt,
        };
        c.transfer = Some(t);
    }
    if args.dp_epsilon.is_some() || args.dp_noise.is_some() {
        // δ and the clip norm default to the config's, then to PrivacyConfig's defaults.
        let mut p = c.privacy.take().unwrap_or_else(|| owm::train::PrivacyConfig::epsilon(1.0));
        (p.epsilon, p.noise_multiplier) = (args.dp_epsilon, args.dp_noise);
        p.delta = args.dp_delta.unwrap_or(p.delta);
        p.clip = args.dp_clip.unwrap_or(p.clip);
        c.privacy = Some(p);
    } else if args.dp_delta.is_some() || args.dp_clip.is_some() {
        bail!("--dp-delta and --dp-clip need --dp-epsilon or --dp-noise");
    }
    if c.privacy.is_some() && c.normalize && c.transfer.is_none() {
        // A normaliser fitted on the training data would leak it outside the guarantee.
        eprintln!("owm: private training: inputs are not standardised with the training split's statistics");
        c.normalize = false;
    }
    c.data.train_limit = args.train_limit.or(c.data.train_limit);
    c.data.test_limit = args.test_limit.or(c.data.test_limit);
    let small_images = matches!(c.data.source, DataSource::Mnist { .. } | DataSource::FashionMnist { .. });
    let dim = args.dim.unwrap_or(match args.model {
        Some(ModelKind::Mf | ModelKind::Fm) => 16,
        _ => 64,
    });
    match args.model {
        Some(ModelKind::Lenet) => c.model = ModelConfig::LeNet5 { conv1_padding: if small_images { 2 } else { 0 } },
        Some(ModelKind::Mlp) => c.model = ModelConfig::Mlp { hidden: vec![128] },
        Some(ModelKind::Logistic) => c.model = ModelConfig::Logistic,
        Some(ModelKind::EmbeddingBag) => c.model = ModelConfig::EmbeddingBag { dim },
        Some(ModelKind::TextCnn) => c.model = ModelConfig::TextCnn { dim, filters: 64, widths: vec![2, 3, 4] },
        Some(ModelKind::Mf) => c.model = ModelConfig::MatrixFactorization { dim },
        Some(ModelKind::Fm) => c.model = ModelConfig::FactorizationMachine { dim },
        None => {}
    }
    if args.model.is_none()
        && let (Some(d), ModelConfig::EmbeddingBag { dim } | ModelConfig::MatrixFactorization { dim } | ModelConfig::FactorizationMachine { dim }) =
            (args.dim, &mut c.model)
    {
        *dim = d;
    }
    if let (Some(hidden), ModelConfig::Mlp { hidden: h }) = (&args.hidden, &mut c.model) {
        *h = hidden.clone();
    }
    // Budgets and criteria change only what is named: --epochs keeps a step budget, and the reverse.
    let until = &mut c.convergence;
    until.max_epochs = args.epochs.or(until.max_epochs);
    until.max_steps = args.max_steps.or(until.max_steps);
    until.max_evaluations = args.max_evaluations.or(until.max_evaluations);
    until.max_seconds = args.max_seconds.or(until.max_seconds);
    if let Some(patience) = args.patience {
        until.plateau = Some(owm::optim::Plateau { patience, min_delta: 0.0 });
    }
    c.convergence.target_loss = args.target_loss.or(c.convergence.target_loss);
    c.batch_size = args.batch_size.unwrap_or(c.batch_size);
    c.seed = args.seed.unwrap_or(c.seed);
    if let Some(spec) = &args.optimizer {
        c.set_phases(PhaseConfig::parse_list(spec, &c.convergence)?);
    }
    let mut phases = c.phases();
    let mut applied: Vec<&str> = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    for phase in &mut phases {
        let mut patch = Vec::new();
        let optimizer = &mut phase.optimizer;
        let gradient = optimizer.chain().is_some();
        patch.extend(args.lr.map(|v| ("lr", serde_json::json!(v))));
        patch.extend(args.momentum.map(|v| ("momentum", serde_json::json!(v))));
        patch.extend(args.weight_decay.map(|v| ("weight_decay", serde_json::json!(v))));
        patch.extend(args.population.map(|v| ("population", serde_json::json!(v))));
        patch.extend(args.sigma.map(|v| ("sigma", serde_json::json!(v))));
        patch.extend(args.t0.map(|v| ("t0", serde_json::json!(v))));
        if gradient && !matches!(optimizer, owm::optim::OptimizerConfig::Chain(_)) {
            patch.extend(args.clip_norm.map(|v| ("clip_norm", serde_json::json!(v))));
            if let Some(spec) = &args.schedule {
                patch.push(("schedule", serde_json::to_value(parse_schedule(spec)?)?));
            }
        }
        named.extend(patch.iter().map(|(k, _)| *k));
        let (config, took) = patched(optimizer, &patch)?;
        *optimizer = config;
        applied.extend(took);
    }
    if let Some(key) = named.iter().find(|k| !applied.contains(k)) {
        bail!("--{} does not apply to any phase ({})", key.replace('_', "-"), c.optimizer_names());
    }
    c.set_phases(phases);
    if let Some(device) = &args.device {
        c.backend = device.parse::<BackendKind>()?;
    }
    c.backend = with_token(std::mem::take(&mut c.backend), args.token_file.as_deref())?;
    let t = &mut c.trace;
    t.stats_every = args.stats_every.unwrap_or(t.stats_every);
    t.paths = args.trace_paths.clone().unwrap_or_else(|| t.paths.clone());
    t.histogram_every = args.histogram_every.unwrap_or(t.histogram_every);
    t.digest_every = args.digest_every.unwrap_or(t.digest_every);
    t.snapshot_paths = args.snapshot_paths.clone().unwrap_or_else(|| t.snapshot_paths.clone());
    t.snapshot_steps = args.snapshot_steps.clone().unwrap_or_else(|| t.snapshot_steps.clone());
    t.checkpoint_every = args.checkpoint_every.unwrap_or(t.checkpoint_every);
    owm::core::Validate::check(&c)?;
    if args.config.is_none() {
        let optimizers: Vec<&str> = c.phases().iter().map(|p| p.optimizer.name()).collect();
        c.name = format!("{}-{}-{}", c.data.name(), c.model.name(), optimizers.join("+"));
    }
    Ok(c)
}

/// `optimizer` with each `(key, value)` set where the optimiser has that setting (the rest is kept), and the
/// keys that were set.
fn patched<'a>(optimizer: &owm::optim::OptimizerConfig, patch: &[(&'a str, serde_json::Value)]) -> Result<(owm::optim::OptimizerConfig, Vec<&'a str>)> {
    let mut json = serde_json::to_value(optimizer)?;
    let known: Vec<String> = json.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    let mut took = Vec::new();
    for (key, value) in patch {
        let extra = matches!(*key, "clip_norm" | "schedule");
        if extra || known.iter().any(|k| k == key) {
            json[*key] = value.clone();
            took.push(*key);
        }
    }
    let config: owm::optim::OptimizerConfig = serde_json::from_value(json).context("optimizer settings")?;
    owm::core::Validate::check(&config)?;
    Ok((config, took))
}

/// A schedule from `kind[:key=value...]`.
fn parse_schedule(spec: &str) -> Result<Schedule> {
    let mut items = spec.split(':');
    let mut json = serde_json::json!({ "kind": items.next().unwrap_or_default() });
    for item in items {
        let (key, value) = item.split_once('=').with_context(|| format!("schedule `{spec}`: `{item}` is not key=value"))?;
        json[key] = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.into()));
    }
    let schedule: Schedule = serde_json::from_value(json).with_context(|| format!("schedule `{spec}`"))?;
    owm::core::Validate::check(&schedule).with_context(|| format!("schedule `{spec}`"))?;
    Ok(schedule)
}

fn schedule_command(spec: &str, lr: f64, steps: u64, every: u64, svg: Option<PathBuf>) -> Result<ExitCode> {
    let schedule = parse_schedule(spec)?;
    if matches!(schedule, Schedule::ReduceOnPlateau { .. }) {
        println!("reduce_on_plateau depends on the losses of the run: it starts at lr {lr} and multiplies it by its factor after each plateau");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:>8}  lr", "step");
    let every = every.max(1);
    for t in (0..steps).filter(|t| t % every == 0 || *t + 1 == steps) {
        println!("{:>8}  {:.6e}", t + 1, schedule.lr(lr, t));
    }
    if let Some(path) = svg {
        let points = (0..steps).map(|t| ((t + 1) as f64, schedule.lr(lr, t))).collect();
        let series = [owm::trace::Series { name: schedule.name().into(), points }];
        let chart = owm::trace::line_chart(&format!("{} schedule, base lr {lr}", schedule.name()), "step", "learning rate", &series, false);
        owm::core::write_atomic(&path, chart.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `data` with its files read from `dir` instead.
fn data_from(data: DataConfig, dir: PathBuf) -> Result<DataConfig> {
    let source = match data.source {
        DataSource::Digits => bail!("--data-dir does not apply to the embedded digits"),
        DataSource::Mnist { .. } => DataSource::Mnist { dir },
        DataSource::FashionMnist { .. } => DataSource::FashionMnist { dir },
        DataSource::Cifar10 { .. } => DataSource::Cifar10 { dir },
        // File sources: the file is evaluated as the test side; the training side refits the preprocessing.
        DataSource::Tabular { path, options, .. } => DataSource::Tabular { path, test: Some(dir), options },
        DataSource::Text { path, text, .. } => DataSource::Text { path, test: Some(dir), text },
        DataSource::Interactions { options, .. } => DataSource::Interactions { path: dir, options },
        DataSource::ImageFolder { grayscale, .. } => DataSource::ImageFolder { dir, grayscale },
    };
    Ok(DataConfig { source, ..data })
}

fn replay_command(run: &Path, backend: Option<BackendKind>, seed: Option<u64>, data_dir: Option<PathBuf>, quiet: bool) -> Result<ExitCode> {
    let data = match data_dir {
        None => None,
        Some(dir) => Some(data_from(ExperimentConfig::load(&run.join(files::CONFIG))?.data, dir)?),
    };
    let report = replay(run, ReplayOptions { backend, seed, data, progress: !quiet })?;
    println!(
        "compared {} events: {} steps, {} weight digests ({})",
        report.events,
        report.steps,
        report.digests,
        if report.exact { "bit for bit" } else { "by drift, across backends" }
    );
    if !report.complete {
        println!("the recorded trace ends early (the run was killed): everything it holds was checked");
    }
    for d in &report.drift {
        let path = d.path.as_deref().map(|p| format!(", {p}")).unwrap_or_default();
        println!("drift {:<14} max relative {:.3e} (step {}{path})", d.stat, d.max_relative, d.step);
    }
    match report.bundle_matches {
        Some(true) => println!("bundle weights are the final weights the trace recorded"),
        Some(false) => println!("bundle weights are NOT the final weights the trace recorded"),
        None => {}
    }
    match &report.divergence {
        Some(d) => {
            println!("diverged at {d}");
            Ok(ExitCode::from(4))
        }
        None if report.bundle_matches == Some(false) => Ok(ExitCode::from(4)),
        None if report.exact => {
            println!("reproduced: every recorded record matches");
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn trace_command(run: &Path, steps: Option<String>, paths: Option<Vec<String>>, stats: Option<Vec<String>>, csv: Option<PathBuf>) -> Result<ExitCode> {
    let file = if run.is_dir() { run.join(files::TRACE) } else { run.to_path_buf() };
    let trace = owm::trace::read_trace(&file)?;
    let mut query = owm::trace::Query::new();
    if let Some(spec) = steps {
        let (from, to) = spec.split_once("..").with_context(|| format!("--steps `{spec}`: expected FROM..TO"))?;
        let bound = |s: &str, default: u64| if s.is_empty() { Ok(default) } else { s.trim_start_matches('=').parse::<u64>() };
        query = query.steps(bound(from, 0).context("--steps")?..=bound(to, u64::MAX).context("--steps")?);
    }
    for p in paths.unwrap_or_default() {
        query = query.path(p);
    }
    for s in stats.unwrap_or_default() {
        query = query.stat(s.parse::<owm::trace::Stat>().map_err(anyhow::Error::msg)?);
    }
    let rows = query.run(&trace);
    match csv {
        Some(path) => {
            let mut bytes = Vec::new();
            owm::trace::write_csv(&rows, &mut bytes)?;
            owm::core::write_atomic(&path, &bytes)?;
            eprintln!("wrote {} rows to {}", rows.len(), path.display());
        }
        None => owm::trace::write_csv(&rows, std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The identities `--identity FILE` or `--passphrase-file FILE` name, if either is given.
fn identities(identity: Option<&Path>, passphrase_file: Option<&Path>) -> Result<Option<owm::share::Identities>> {
    Ok(match (identity, passphrase_file) {
        (Some(f), _) => Some(owm::share::Identities::from_file(f)?),
        (None, Some(p)) => Some(owm::share::Identities::passphrase(read_passphrase(p)?)),
        (None, None) => None,
    })
}

/// The passphrase in `path`: its first line.
fn read_passphrase(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the passphrase file {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        bail!("the passphrase file {} is empty", path.display());
    }
    Ok(line)
}

fn eval_command(bundle: &Path, backend: BackendKind, data_dir: Option<PathBuf>, identities: Option<&owm::share::Identities>) -> Result<ExitCode> {
    let data = match data_dir {
        None => None,
        Some(dir) => {
            let experiment: ExperimentConfig = serde_json::from_value(owm::share::verify_bundle(bundle, None)?.manifest.experiment)
                .context("bundle manifest has no usable experiment section")?;
            Some(data_from(experiment.data, dir)?)
        }
    };
    let result = owm::train::evaluate_bundle_with(bundle, backend.clone(), data, identities)?;
    let r = &result.report.report;
    println!("bundle {} verified: {} tensors, weights digest {}", bundle.display(), result.bundle.tensors.len(), result.bundle.manifest.weights_digest);
    println!("test accuracy {:.4}  macro F1 {:.4}  on {} items ({})", r.accuracy, r.macro_f1, r.total, backend);
    print_scores(&result.report);
    let trained_on = result.bundle.manifest.backend.as_str();
    match result.recorded.as_ref().map(|e| &e.report) {
        Some(rec) if trained_on != backend.name() => {
            println!("trained on {trained_on}, evaluated on {backend}: recorded accuracy {:.4} (kernels may round differently)", rec.accuracy)
        }
        Some(rec) if result.same_test_data && rec.accuracy == r.accuracy => {
            println!("matches the accuracy recorded at training time ({:.4})", rec.accuracy)
        }
        Some(rec) if result.same_test_data => {
            println!("differs from the accuracy recorded at training time ({:.4})", rec.accuracy);
            return Ok(ExitCode::from(3));
        }
        Some(rec) => println!("other test data than at training time (recorded accuracy {:.4})", rec.accuracy),
        None => println!("the manifest records no evaluation"),
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_command(bundle: &Path, key: Option<&Path>, identities: Option<&owm::share::Identities>) -> Result<ExitCode> {
    let trusted = key.map(owm::share::read_public_key).transpose()?;
    let v = owm::share::verify_bundle_with(bundle, trusted.as_ref(), identities)?;
    let m = &v.manifest;
    println!("bundle {} ({}, written by owm {})", bundle.display(), m.format, m.owm_version);
    if v.legacy {
        println!("note: an owm-bundle/1 manifest: its sections are not bound by a bundle digest (tensors and trace still are)");
    } else {
        println!("bundle digest {}", m.bundle_digest);
    }
    println!("checked {} tensors, {} files", v.tensors_checked, v.files_checked);
    if v.encrypted && identities.is_none() {
        println!("weights encrypted: the ciphertext was checked; give --identity (or --passphrase-file) to check every tensor");
    }
    match &v.signature {
        Some(s) if s.trusted => println!("signed by the given key {}", s.public_key),
        Some(s) => println!("signed by key {} (pass --key to require a key you trust)", s.public_key),
        None if v.problems.iter().any(|p| matches!(p, owm::share::Error::Signature { .. })) => {}
        None => println!("not signed"),
    }
    if v.ok() {
        println!("OK: every digest matches");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &v.problems {
        println!("MISMATCH: {p}");
    }
    Ok(ExitCode::from(6))
}

fn inspect_command(bundle: &Path) -> Result<ExitCode> {
    let b = owm::share::load_bundle(bundle)?;
    let m = &b.manifest;
    println!("bundle {} ({}, written by owm {})", bundle.display(), m.format, m.owm_version);
    println!("verified: {} tensors match their SHA-256; weights digest {}", m.tensors.len(), m.weights_digest);
    println!("seed {}  backend {}", m.seed, m.backend);
    let openness = owm::share::openness(m);
    println!("openness: {}", openness.class.map_or_else(|| "no Model Openness Framework class yet".to_string(), |c| c.to_string()));
    if let Some((class, missing)) = openness.missing.iter().find(|(_, m)| !m.is_empty()) {
        println!("  missing for {class}: {}", missing.join("; "));
    }
    println!("model {}", m.model);
    println!("optimizer {}", m.optimizer);
    if let Some(t) = &m.trace {
        println!("trace {} ({} events, sha256 {})", t.file, t.events, t.sha256);
    }
    println!("dataset {}", m.dataset);
    println!("training {}", m.training);
    if let Some(acc) = m.evaluation.get("accuracy") {
        println!("recorded test accuracy {acc}  macro F1 {}", m.evaluation["macro_f1"]);
    }
    println!("tensors:");
    for (path, t) in &m.tensors {
        println!("  {path:<20} {:<14} {}", format!("{:?}", t.shape), &t.sha256[..16]);
    }
    Ok(ExitCode::SUCCESS)
}

/// Accepts a run folder for its `bundle/`.
fn bundle_dir(path: &Path) -> PathBuf {
    let inner = path.join("bundle");
    if !path.join("manifest.json").exists() && inner.join("manifest.json").exists() { inner } else { path.to_path_buf() }
}

/// `base`, or `base-2`, `base-3`, ... whichever does not exist yet.
#[allow(clippy::expect_used, reason = "an endless sequence of names has an unused one")]
fn free_dir(base: &Path) -> PathBuf {
    std::iter::once(base.to_path_buf())
        .chain((2..).map(|i| PathBuf::from(format!("{}-{i}", base.display()))))
        .find(|p| !p.exists())
        .expect("an unused name exists")
}
