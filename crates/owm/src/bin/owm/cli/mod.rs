//! The command line's types: what clap parses, before `settings.rs` gives it meaning.

pub mod train;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use train::*;

/// `owm`.
#[derive(Parser)]
#[command(name = "owm", version, about = "Open Weight Model: train, evaluate and share verifiable neural-network weights")]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// One subcommand each; `commands/` runs them.
#[derive(Subcommand)]
pub enum Command {
    /// Train a model; with no options, an MLP on the embedded 8×8 digits on the CPU.
    Train(Box<TrainArgs>),
    /// Continue a killed run from its last checkpoint (or from the start when it died before its first), with
    /// its recorded config.
    Resume(ResumeArgs),
    /// Verify a bundle, rebuild its test split and evaluate it again.
    Eval(EvalArgs),
    /// Predict on new records (a table or texts in the layout training read, or images) with a bundle's model
    /// and the preprocessing it recorded; CSV (or JSON Lines) rows naming the bundle digest.
    Predict(PredictArgs),
    /// Re-execute a run from its recorded config, seed and data and check every record of its trace; report
    /// the first step and parameter where the replay diverges (or, on another backend, how far it drifts).
    Replay(ReplayArgs),
    /// Write the run's `report.html` from its trace (a killed run's partial trace too): charts, and an
    /// explanation of why it stopped, which layers changed most and what looks wrong.
    Report(ReportArgs),
    /// Compare two sets of weights (bundles, run folders or checkpoint files) parameter by parameter.
    Diff(DiffArgs),
    /// Export a run's trace as CSV (`step,epoch,path,stat,value`), selected by steps, paths and statistics, or
    /// as a TensorBoard event file.
    Trace(TraceArgs),
    /// Check every digest of a bundle (manifest sections, tensors, trace) and its signature; print what does
    /// not match. Exit 6 when something does not.
    Verify(VerifyArgs),
    /// Encrypt a bundle's weights for age recipients or a passphrase into a new bundle folder; the manifest
    /// stays readable and verifiable.
    Encrypt(EncryptArgs),
    /// Decrypt an encrypted bundle into a new, plaintext bundle folder (after checking every tensor).
    Decrypt(DecryptArgs),
    /// Write a bundle's weights as a PyTorch `state_dict` (safetensors, PyTorch layout and names) with the
    /// matching `torch.nn.Module`, or its whole pipeline as an ONNX model.
    Export(ExportArgs),
    /// Make a bundle of a PyTorch `state_dict` (safetensors) for a built-in image model.
    Import(ImportArgs),
    /// Publish a verified bundle to a local registry as NAME@VERSION (identical files and tensors stored once).
    Publish(PublishArgs),
    /// Reassemble NAME@VERSION from a registry into a bundle folder and verify it.
    Pull(PullArgs),
    /// List a registry's published versions.
    List(ListArgs),
    /// Print the tree of models NAME@VERSION was built from.
    Lineage(LineageArgs),
    /// Write a new signing key pair, ECDSA P-256 unless `--ed25519`: the secret key to OUT (owner-only) and the
    /// public key to OUT.pub.
    Keygen(KeygenArgs),
    /// Sign a bundle with KEY: an ECDSA key writes an OpenSSF Model Signing v1.0 signature (`model.sig`, which
    /// the reference `model_signing` tool verifies), an Ed25519 key OWM's `signature.json`; both list every
    /// file's SHA-256.
    Sign(SignArgs),
    /// Verify a bundle and print its provenance.
    Inspect(InspectArgs),
    /// Print (and optionally plot) a learning-rate schedule before training with it.
    Schedule(ScheduleArgs),
    /// Serve a local device to `owm train --device remote:ws://HOST:PORT` runs in other processes or machines
    /// (Burn's remote backend over WebSocket, cargo feature `remote`), until Ctrl+C or SIGTERM.
    Serve(ServeArgs),
    /// Serve verified bundles over the Open Inference Protocol (KServe v2 REST: `/v2/models/NAME/infer`), for
    /// any KServe, Triton or MLServer client (cargo feature `serve`), until Ctrl+C or SIGTERM.
    ServeModel(ServeModelArgs),
    /// Measure LeNet-5 training throughput (CIFAR-shaped input, Adam), or with `--ga N` genetic-algorithm
    /// generations per second on the digits MLP; print one JSON line.
    Bench(BenchArgs),
}

/// `owm resume`.
#[derive(Args)]
pub struct ResumeArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Move a remote run to its server at another address (`remote:ws://HOST:PORT`, a restarted server); any
    /// other device would round differently and is refused.
    #[arg(long)]
    pub device: Option<String>,
    /// The token of a remote device's server (`owm serve --token-file`).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `owm eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// Evaluate on another data folder of the same kind.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where the model runs and how its weights open.
    #[command(flatten)]
    pub access: ModelAccess,
}

/// Where a bundle's model runs and how its weights open (`owm eval`, `owm predict`).
#[derive(Args)]
pub struct ModelAccess {
    /// Backend to run the model on (cpu, ndarray, wgpu or remote:ws://HOST:PORT).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The token of a remote device's server (`owm serve`).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// How encrypted weights open.
    #[command(flatten)]
    pub keys: WeightKeys,
}

/// How a bundle's encrypted weights open (in memory).
#[derive(Args)]
pub struct WeightKeys {
    /// Decrypt encrypted weights (in memory) with this age identity file.
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// Decrypt encrypted weights with the passphrase in this file.
    #[arg(long, conflicts_with = "identity")]
    pub passphrase_file: Option<PathBuf>,
}

/// `owm predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// The records: a table with the training columns (the target column optional), texts as `label<TAB>text`
    /// or plain lines, or an image file or folder of images (a sub-folder's name is its images' known class),
    /// or the images of a CIFAR-10 batch (`.bin`) or an IDX file.
    #[arg(long, required_unless_present = "check")]
    pub data: Option<PathBuf>,
    /// Re-run the example the bundle stored and demand its stored outputs bit for bit (exit 3 if they differ).
    #[arg(long, conflicts_with_all = ["data", "out", "json"])]
    pub check: bool,
    /// Write the predictions here (`.jsonl`/`.json`: JSON Lines, otherwise CSV) instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// JSON Lines, one object per record.
    #[arg(long)]
    pub json: bool,
    /// Where the model runs and how its weights open.
    #[command(flatten)]
    pub access: ModelAccess,
}

/// `owm replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Replay on another backend (cpu, ndarray, wgpu, remote:ws://HOST:PORT): compare by drift instead of
    /// bit for bit.
    #[arg(long)]
    pub device: Option<String>,
    /// The token of a remote device's server (`owm serve`).
    #[arg(long, requires = "device")]
    pub token_file: Option<PathBuf>,
    /// Replay with another seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay on another data folder of the same kind.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `owm report`.
#[derive(Args)]
pub struct ReportArgs {
    /// The run folder.
    pub run: PathBuf,
}

/// `owm diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The first.
    pub a: PathBuf,
    /// The second.
    pub b: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `owm trace`.
#[derive(Args)]
pub struct TraceArgs {
    /// The run folder (or its trace.jsonl).
    pub run: PathBuf,
    /// Only steps in FROM..=TO, e.g. `100..200`.
    #[arg(long)]
    pub steps: Option<String>,
    /// Only parameters matching these globs (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub paths: Option<Vec<String>>,
    /// Only these statistics (comma-separated): loss, lr, grad_norm, weight_norm, update_norm, update_ratio,
    /// sign_flips, zero_grads.
    #[arg(long, value_delimiter = ',')]
    pub stats: Option<Vec<String>>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the whole trace as a TensorBoard event file into this folder (`tensorboard --logdir DIR`), instead
    /// of CSV rows.
    #[arg(long, conflicts_with_all = ["steps", "paths", "stats", "csv"])]
    pub tensorboard: Option<PathBuf>,
}

/// `owm verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// The signer's public key (`KEY.pub` from `owm keygen`, or an ECDSA SPKI PEM): the bundle must be signed
    /// by it. An OpenSSF Model Signing signature names only its key's digest, so it is verified with this key.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Decrypt encrypted weights (in memory) with this age identity file, to check every tensor.
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// Decrypt encrypted weights with the passphrase in this file.
    #[arg(long, conflicts_with = "identity")]
    pub passphrase_file: Option<PathBuf>,
}

/// `owm encrypt`.
#[derive(Args)]
pub struct EncryptArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// The new, encrypted bundle folder.
    #[arg(long)]
    pub out: PathBuf,
    /// An age public key (`age1…`) or a file holding one (`KEY.agepub` from `owm keygen --age`); repeatable.
    #[arg(long)]
    pub recipient: Vec<String>,
    /// Encrypt for the passphrase in this file instead (age allows a passphrase only on its own).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// `owm decrypt`.
#[derive(Args)]
pub struct DecryptArgs {
    /// The encrypted bundle folder.
    pub bundle: PathBuf,
    /// The new, plaintext bundle folder.
    #[arg(long)]
    pub out: PathBuf,
    /// The age identity file.
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// The file holding the passphrase.
    #[arg(long, conflicts_with = "identity")]
    pub passphrase_file: Option<PathBuf>,
}

/// `owm export`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["pytorch", "onnx"])))]
pub struct ExportArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// Write the weights as a PyTorch `state_dict` in this safetensors file.
    #[arg(long)]
    pub pytorch: Option<PathBuf>,
    /// Write the whole pipeline (recorded preprocessing, network, probabilities) as this ONNX model.
    #[arg(long)]
    pub onnx: Option<PathBuf>,
    /// How encrypted weights open.
    #[command(flatten)]
    pub keys: WeightKeys,
}

/// `owm import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The PyTorch `state_dict`, saved with `safetensors.torch.save_file`.
    #[arg(long)]
    pub pytorch: PathBuf,
    /// The model whose layout and names it has.
    #[arg(long, value_enum)]
    pub model: train::ModelKind,
    /// The images it reads: channels, height and width (`3,32,32`).
    #[arg(long, value_delimiter = ',', num_args = 1, required = true)]
    pub image: Vec<usize>,
    /// Its classes, in output order: names (`cat,dog`) or a count (`10`: classes `0` to `9`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub classes: Vec<String>,
    /// Hidden widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Depth of the residual network, 6n + 2.
    #[arg(long)]
    pub depth: Option<usize>,
    /// Channels of the residual network's first stage.
    #[arg(long)]
    pub width: Option<usize>,
    /// Zero padding of LeNet-5's first convolution (2 for 28×28 images).
    #[arg(long)]
    pub conv1_padding: Option<usize>,
    /// The bundle folder to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// `owm publish`.
#[derive(Args)]
pub struct PublishArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// Name.
    #[arg(long)]
    pub name: String,
    /// Version.
    #[arg(long)]
    pub version: String,
    /// Registry root (default: $OWM_REGISTRY).
    #[arg(long)]
    pub registry: Option<PathBuf>,
}

/// `owm pull`.
#[derive(Args)]
pub struct PullArgs {
    /// `NAME@VERSION`.
    pub reference: String,
    /// The folder to create (default: NAME-VERSION).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Registry root (default: $OWM_REGISTRY).
    #[arg(long)]
    pub registry: Option<PathBuf>,
}

/// `owm list`.
#[derive(Args)]
pub struct ListArgs {
    /// Registry root (default: $OWM_REGISTRY).
    #[arg(long)]
    pub registry: Option<PathBuf>,
}

/// `owm lineage`.
#[derive(Args)]
pub struct LineageArgs {
    /// `NAME@VERSION`.
    pub reference: String,
    /// Registry root (default: $OWM_REGISTRY).
    #[arg(long)]
    pub registry: Option<PathBuf>,
}

/// `owm keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Where the secret key goes.
    pub out: PathBuf,
    /// Make an age X25519 key for encrypting weights (secret in OUT, public key in OUT.agepub) instead of
    /// a signing key.
    #[arg(long, conflicts_with_all = ["ecdsa", "ed25519"])]
    pub age: bool,
    /// An ECDSA P-256 signing key, as PKCS#8 and SPKI PEM (the default): it signs in the OpenSSF Model Signing
    /// format, which `model_signing` and `openssl` read.
    #[arg(long, conflicts_with = "ed25519")]
    pub ecdsa: bool,
    /// An Ed25519 signing key, as hex: it signs OWM's own `signature.json`.
    #[arg(long)]
    pub ed25519: bool,
}

/// `owm sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
    /// The secret key: from `owm keygen`, or an ECDSA P-256 PEM key from `openssl`.
    #[arg(long)]
    pub key: PathBuf,
    /// The signature format: `oms` (OpenSSF Model Signing v1.0, `model.sig`, needs an ECDSA key) or `owm`
    /// (`signature.json`, needs an Ed25519 key). Default: the key's.
    #[arg(long)]
    pub format: Option<owm::share::SignatureFormat>,
}

/// `owm inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The bundle folder (a run's `bundle/`) or its run folder.
    pub bundle: PathBuf,
}

/// `owm schedule`.
#[derive(Args)]
pub struct ScheduleArgs {
    /// The schedule: `kind[:key=value...]`, e.g. `cosine:t_max=900:warmup=100` or `step:step_size=30:gamma=0.1`.
    pub schedule: String,
    /// Base learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Steps to show.
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Print every N-th step.
    #[arg(long, default_value_t = 100)]
    pub every: u64,
    /// Also write the curve as an SVG chart here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// `owm serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The device to serve: cpu, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The address to listen on, such as 127.0.0.1:3000 (port 0: any free port, printed at start). There is
    /// no default: binding beyond loopback is a choice to make, as WebSocket is unencrypted.
    #[arg(long)]
    pub bind: std::net::SocketAddr,
    /// Accept only clients that present the token in this file (its text, without the line break).
    #[arg(long)]
    pub token_file: PathBuf,
}

/// `owm serve-model`.
#[derive(Args)]
pub struct ServeModelArgs {
    /// The models: a bundle folder or run folder (served under its folder's name), NAME=FOLDER, or a registry
    /// entry NAME@VERSION.
    #[arg(required = true)]
    pub models: Vec<String>,
    /// The address to listen on, such as 127.0.0.1:8080 (port 0: any free port, printed at start). There is
    /// no default: binding beyond loopback is a choice to make, as the server speaks plain HTTP.
    #[arg(long)]
    pub bind: std::net::SocketAddr,
    /// Require `Authorization: Bearer TOKEN` with the token in this file (but on /v2/health/*).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Serve only bundles signed by this public key (`owm keygen`'s `.pub` file).
    #[arg(long)]
    pub require_signed: Option<PathBuf>,
    /// The registry NAME@VERSION models come from (default: $OWM_REGISTRY).
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = 16 << 20)]
    pub max_body_bytes: usize,
    /// Most records per request, and per pass of a model (more: 413).
    #[arg(long, default_value_t = 1024)]
    pub max_batch: usize,
    /// Most requests waiting for one model (more: 503).
    #[arg(long, default_value_t = 256)]
    pub max_queue: usize,
    /// Longest wait for a model's answer in milliseconds, queue included (longer: 503).
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Backend to run the models on (cpu, ndarray, wgpu or remote:ws://HOST:PORT).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The token of a remote device's server (`owm serve`).
    #[arg(long)]
    pub device_token_file: Option<PathBuf>,
    /// How encrypted weights open.
    #[command(flatten)]
    pub keys: WeightKeys,
}

/// `owm bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Measure N generations of the genetic algorithm (PyGAD's recipe) instead of LeNet-5.
    #[arg(long)]
    pub ga: Option<usize>,
    /// Measure what default tracing costs on whole `owm train` runs of LeNet-5 for N epochs on random
    /// CIFAR-10-sized data (traced and untraced, twice each), the trace's size and its report's time.
    #[arg(long)]
    pub tracing: Option<u64>,
    /// Measure saving, loading and verifying a bundle of about N MB of weights.
    #[arg(long)]
    pub bundle: Option<usize>,
    /// Measure DP-SGD training throughput beside plain training (LeNet-5, Adam, random CIFAR-sized data).
    #[arg(long)]
    pub dp: bool,
    /// Measure one all-reduce of N f32 values, in training's buckets, among the ranks `mpirun` launched (an owm
    /// built with the `mpi` feature): seconds per call over `--steps` calls after `--warmup`, printed by rank 0.
    #[arg(long)]
    pub all_reduce: Option<usize>,
    /// Training images for `--tracing`.
    #[arg(long, default_value_t = 50_000)]
    pub train_items: usize,
    /// The training-step workload: lenet-cifar (LeNet-5 on CIFAR-shaped input), lenet (on
    /// Fashion-MNIST-shaped input), mlp (784-256-10) or resnet (depth 8, CIFAR-shaped).
    #[arg(long, default_value = "lenet-cifar")]
    pub model: String,
    /// With the per-layer statistics `owm train` traces at every step.
    #[arg(long)]
    pub stats: bool,
    /// Measure evaluation (forward passes without autodiff) instead of training steps.
    #[arg(long)]
    pub eval: bool,
    /// Backend to measure.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
}
