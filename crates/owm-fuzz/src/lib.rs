//! Fuzz harnesses for every OWM reader of outside bytes.
//!
//! Each public function takes arbitrary bytes, hands them to one reader the way a user's file reaches it
//! (written to a scratch file, or put in place of one file of a valid bundle or registry) and returns
//! normally whatever the reader answers: an `Err` is the expected outcome of bad bytes, a panic, hang or
//! runaway allocation is a finding. Where a reader accepts the bytes, the harness checks what it promised
//! (counts agree, digests verified).
//!
//! Key design decision: the harnesses live in an ordinary crate, not in the `fuzz/` package, so the same
//! functions run under libFuzzer (`cargo xtask fuzz`, nightly) and, on the stable toolchain, in this crate's
//! tests, which replay every committed seed and every past finding (`fuzz/corpus/TARGET/`,
//! `fuzz/regressions/TARGET/`) on each `cargo test`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;
use owm::data::tabular::{TabularOptions, TabularPrep, read_any, read_orange, read_table};
use owm::share::{Identities, KeyAlgorithm, Manifest, Recipient, Registry, SignatureFormat};

/// One fuzz target: its name (the `fuzz/fuzz_targets/NAME.rs` file and corpus folder) and harness.
pub struct Target {
    /// Target name.
    pub name: &'static str,
    /// What it reads.
    pub reads: &'static str,
    /// The harness.
    pub run: fn(&[u8]),
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "idx", reads: "IDX files, raw or gzip (MNIST, Fashion-MNIST)", run: idx },
    Target { name: "cifar", reads: "CIFAR-10 binary batches", run: cifar },
    Target { name: "digits", reads: "the embedded-digits decoder (two IDX streams)", run: digits },
    Target { name: "config", reads: "experiment config JSON (`--config`)", run: config },
    Target { name: "manifest", reads: "a bundle's manifest.json, verified and loaded", run: manifest },
    Target { name: "safetensors", reads: "a bundle's weights.safetensors (header and tensors), verified and loaded", run: safetensors },
    Target { name: "trace", reads: "trace JSON Lines (read, checkpoint lookup)", run: trace },
    Target { name: "csv", reads: "tabular CSV and Orange .tab, read, fitted and transformed", run: csv },
    Target { name: "text", reads: "labelled text (`label<TAB>text` and CSV) and the tokeniser", run: text },
    Target { name: "interactions", reads: "click-through `user,item,label[,time]` CSV", run: interactions },
    Target { name: "recbole", reads: "RecBole atomic files (`.inter` interactions, `.user` / `.item` side features)", run: recbole },
    Target { name: "registry", reads: "a registry index entry, looked up and pulled", run: registry },
    Target { name: "signature", reads: "a bundle's signature file and a public key file", run: signature },
    Target { name: "encrypted", reads: "an encrypted bundle's weights.safetensors.age and encryption.json", run: encrypted },
    Target { name: "image", reads: "an image-folder PNG, and images to predict on (files, a CIFAR-10 batch, an IDX file)", run: image },
    Target { name: "pytorch", reads: "a PyTorch state_dict (safetensors) imported into a model", run: pytorch },
    Target { name: "checkpoint", reads: "a run's checkpoint.json (resume, diff)", run: checkpoint },
    Target { name: "predict", reads: "records to predict on (a table and texts), with the bundles trained on them", run: predict },
    Target { name: "serve", reads: "inference requests (KServe v2 JSON) answered by a table, a text and an interactions model; model specs", run: serve },
    Target { name: "specs", reads: "command-line specs: devices, transfer rules, optimiser phases, registry references, sizes; token files", run: specs },
];

/// A scratch folder of this process, created once.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("owm-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz scratch folder");
        dir
    })
}

/// Writes `data` to `name` in the scratch folder (thread-unique), returning the path.
fn file(name: &str, data: &[u8]) -> PathBuf {
    let dir = scratch().join(format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), ""));
    std::fs::create_dir_all(&dir).expect("fuzz scratch folder");
    let path = dir.join(name);
    std::fs::write(&path, data).expect("fuzz scratch file");
    path
}

/// IDX reader: the bytes as a rank-1 (labels) and a rank-3 (images) file.
pub fn idx(data: &[u8]) {
    let path = file("data-idx-ubyte", data);
    for rank in [1, 3] {
        if let Ok(array) = owm::data::read_idx(&path, rank) {
            assert_eq!(array.dims.len(), rank);
            assert_eq!(array.data.len(), array.dims.iter().product::<usize>());
            let _ = owm::data::check_labels(&path, &array, 10);
        }
    }
}

/// CIFAR-10 batch reader.
pub fn cifar(data: &[u8]) {
    let path = file("data_batch_1.bin", data);
    if let Ok(set) = owm::data::read_batches("cifar", &[path]) {
        assert_eq!(set.len() * 3073, data.len());
    }
}

/// The embedded-digits decoder: the first two bytes (big-endian) say how long the images stream is; the labels
/// stream follows it.
pub fn digits(data: &[u8]) {
    let Some((cut, rest)) = data.split_first_chunk::<2>() else { return };
    let (images, labels) = rest.split_at(usize::from(u16::from_be_bytes(*cut)).min(rest.len()));
    if let Ok(set) = owm::data::decode_digits(images, labels) {
        assert!(set.labels().iter().all(|&l| l < 10));
    }
}

/// Experiment config reader with its rule check.
pub fn config(data: &[u8]) {
    let path = file("config.json", data);
    if let Ok(config) = owm::train::ExperimentConfig::load(&path) {
        // What was accepted serialises and reads back the same.
        let again: owm::train::ExperimentConfig = serde_json::from_str(&config.to_json()).expect("accepted config re-reads");
        assert_eq!(again.to_json(), config.to_json());
    }
}

/// The valid material the bundle targets mutate, made once per process: a signed bundle of [`Net`], its public
/// key, an encrypted copy with its age identity, a registry holding it, and its PyTorch export.
struct Fixture {
    bundle: PathBuf,
    /// The Ed25519 key of `signature.json`, then the ECDSA key of `model.sig`.
    public_keys: Vec<PathBuf>,
    encrypted: PathBuf,
    identity: PathBuf,
    registry: PathBuf,
    pytorch: PathBuf,
}

/// The model of the fixture bundle.
#[derive(Module, Debug)]
struct Net {
    fc: Linear,
    out: Linear,
}

fn net() -> Net {
    let device = Device::flex();
    Net { fc: LinearConfig::new(4, 3).init(&device), out: LinearConfig::new(3, 2).init(&device) }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = scratch().join("fixture");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("fixture folder");
        let bundle = root.join("bundle");
        owm::share::save_bundle(&bundle, &net(), Manifest::new(7)).expect("fixture bundle");
        let pytorch = root.join("state.safetensors");
        owm::share::load_bundle(&bundle).and_then(|b| owm::share::export_pytorch(&b, &pytorch)).expect("fixture export");
        // Signed in both formats: OWM's Ed25519 `signature.json` and OpenSSF's ECDSA `model.sig`.
        let mut public_keys = Vec::new();
        for (name, algorithm) in [("ed25519", KeyAlgorithm::Ed25519), ("ecdsa", KeyAlgorithm::EcdsaP256)] {
            let (secret, public_key) = owm::share::generate_keypair(&root.join(name), algorithm).expect("fixture keys");
            let key = owm::share::read_secret_key(&secret).expect("fixture key");
            owm::share::sign_bundle(&bundle, &key, SignatureFormat::of(algorithm)).expect("fixture signature");
            public_keys.push(public_key);
        }
        let identity = root.join("age.key");
        let recipient = owm::share::generate_age_key(&identity).expect("fixture age key");
        let encrypted = root.join("encrypted");
        owm::share::encrypt_bundle(&bundle, &encrypted, &[Recipient::Key(recipient)]).expect("fixture encryption");
        let registry = root.join("registry");
        Registry::open(Some(&registry)).and_then(|r| r.publish(&bundle, "net", "1.0.0")).expect("fixture registry");
        Fixture { bundle, public_keys, encrypted, identity, registry, pytorch }
    })
}

/// A fresh copy of the folder `src` with `name` replaced by `data`.
fn mutated(src: &Path, label: &str, name: &str, data: &[u8]) -> PathBuf {
    let dir = file(label, b"").with_extension("d");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(src, &dir);
    std::fs::write(dir.join(name), data).expect("fuzz bundle file");
    dir
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("fuzz copy");
    for entry in std::fs::read_dir(src).expect("fuzz copy").flatten() {
        let to = dst.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            // Read and write, not `fs::copy`: libFuzzer's timer signal interrupts `copy_file_range` (EINTR), which
            // `fs::copy` returns, while `read` and `write` retry it.
            std::fs::read(entry.path()).and_then(|bytes| std::fs::write(to, bytes)).expect("fuzz copy");
        }
    }
}

/// Verifies and loads a bundle (into [`Net`] when it loads); whatever verifies must load.
fn check_bundle(dir: &Path, identities: Option<&Identities>) {
    let verified = owm::share::verify_bundle_with(dir, None, identities).is_ok_and(|v| v.ok());
    let loaded = owm::share::load_bundle_with(dir, identities);
    if verified {
        assert!(loaded.is_ok(), "a bundle that verifies loads");
    }
    if let Ok(bundle) = loaded {
        let _ = bundle.load_into(net());
    }
}

/// A bundle's manifest.json.
pub fn manifest(data: &[u8]) {
    let dir = mutated(&fixture().bundle, "manifest", "manifest.json", data);
    check_bundle(&dir, None);
    let _ = owm::share::check_signature(&dir, None);
}

/// A bundle's weights.safetensors.
pub fn safetensors(data: &[u8]) {
    let dir = mutated(&fixture().bundle, "safetensors", "weights.safetensors", data);
    check_bundle(&dir, None);
}

/// Trace JSON Lines.
pub fn trace(data: &[u8]) {
    let path = file("trace.jsonl", data);
    if let Ok(trace) = owm::trace::read_trace(&path) {
        let _ = trace.steps().count() + trace.epochs().count();
        if let Some(step) = trace.steps().last().map(|s| s.step) {
            let _ = owm::trace::find_checkpoint(&path, step);
        }
    }
    let _ = owm::trace::file_digest(&path);
}

/// Tabular data, the same bytes as CSV and as Orange `.tab`: read, fit the preprocessing on it, transform it.
pub fn csv(data: &[u8]) {
    let options = TabularOptions { missing_values: vec!["?".into()], ..Default::default() };
    let csv = read_table(&file("table.csv", data), &options).map(|t| (t, options.clone()));
    let tab = file("table.tab", data);
    let orange = read_orange(&tab, &options).map(|t| (t.table.clone(), t.resolve(&options)));
    // What `load_tabular` calls: the same as the two above, chosen by the file's extension.
    let any = read_any(&tab, &options);
    assert_eq!(orange.as_ref().ok(), any.as_ref().ok(), "read_any reads a .tab file as read_orange does");
    for read in [csv, orange] {
        let Ok((table, options)) = read else { continue };
        let Some(target) = table.columns.iter().find(|c| **c == options.target).or(table.columns.last()).cloned() else { continue };
        let options = TabularOptions { target, ..options };
        if let Ok(prep) = TabularPrep::fit(&table, &options)
            && let Ok(prepared) = prep.transform(&table, &options)
        {
            assert_eq!(prepared.features.len(), prepared.labels.len() * prep.feature_names().len());
            assert!(prepared.features.iter().all(|v| v.is_finite()), "transformed features are finite");
        }
    }
}

/// Labelled text files and the tokeniser.
pub fn text(data: &[u8]) {
    let path = file("news.txt", data);
    let options = owm::data::text::TextOptions::default();
    if let Ok(items) = owm::data::text::read_labelled_text(&path) {
        let docs: Vec<Vec<String>> = items.iter().map(|t| owm::data::text::tokenize(&t.text, &options)).collect();
        let vocab = owm::data::text::Vocab::fit(&docs, 1, Some(1000));
        for doc in &docs {
            assert!(vocab.encode(doc, 16).iter().all(|&id| (id as usize) < vocab.len().max(2)));
        }
    }
    let _ = owm::data::text::read_labelled_csv(&path, "label", "text");
}

/// Click-through interactions CSV and its splits.
pub fn interactions(data: &[u8]) {
    let path = file("clicks.csv", data);
    if let Ok(set) = owm::data::interactions::read_interactions(&path) {
        let (train, test) = set.random_split(0.25, 1);
        assert_eq!(train.len() + test.len(), set.rows.len());
        let _ = set.chronological_split(0.25, &path);
        let _ = set.negatives(1, 1);
    }
}

/// A RecBole atomic file, as interactions and as side features.
pub fn recbole(data: &[u8]) {
    let path = file("clicks.inter", data);
    if let Ok(set) = owm::data::recbole::read_inter(&path) {
        assert!(set.rows.iter().all(|r| r.label.is_finite() && r.user < set.users.len() && r.item < set.items.len()));
    }
    if let Ok(table) = owm::data::recbole::read_atomic(&path) {
        assert!(table.rows.iter().all(|(_, f)| f.len() == table.columns.len()));
    }
}

/// A registry index entry (`names/NAME/VERSION.json`).
pub fn registry(data: &[u8]) {
    let root = mutated(&fixture().registry, "registry", "names/net/1.0.0.json", data);
    let Ok(registry) = Registry::open(Some(&root)) else { return };
    let _ = registry.list();
    let _ = registry.lineage("net", "1.0.0");
    if registry.entry("net", "1.0.0").is_ok() {
        let out = root.join("pulled");
        if registry.pull("net", "1.0.0", &out).is_ok() {
            assert!(owm::share::verify_bundle(&out, None).is_ok_and(|v| v.ok()), "a pulled bundle verifies");
        }
    }
}

/// A bundle's signature, OWM's `signature.json` (first byte even) or OpenSSF's `model.sig` (odd), checked
/// with its key; and a public and a secret key file.
pub fn signature(data: &[u8]) {
    let Some((&which, data)) = data.split_first() else { return };
    let fixture = fixture();
    let format = [SignatureFormat::Owm, SignatureFormat::Oms][usize::from(which % 2)];
    let dir = mutated(&fixture.bundle, "signature", format.file(), data);
    let trusted = owm::share::read_public_key(&fixture.public_keys[usize::from(which % 2)]).ok();
    let _ = owm::share::check_signature(&dir, trusted.as_ref());
    let _ = owm::share::read_public_key(&file("key.pub", data));
    let _ = owm::share::read_secret_key(&file("key", data));
}

/// An encrypted bundle's ciphertext (first byte even) or encryption record (odd), verified and decrypted.
pub fn encrypted(data: &[u8]) {
    let fixture = fixture();
    let Some((&which, rest)) = data.split_first() else { return };
    let name = if which % 2 == 0 { "weights.safetensors.age" } else { owm::share::ENCRYPTION_FILE };
    let dir = mutated(&fixture.encrypted, "encrypted", name, rest);
    let Ok(identities) = Identities::from_file(&fixture.identity) else { return };
    let _ = owm::share::encryption_record(&dir);
    check_bundle(&dir, Some(&identities));
    let out = dir.with_extension("plain");
    let _ = std::fs::remove_dir_all(&out);
    if owm::share::decrypt_bundle(&dir, &out, &identities).is_ok() {
        assert!(owm::share::verify_bundle(&out, None).is_ok_and(|v| v.ok()), "a decrypted bundle verifies");
    }
    let _ = Identities::from_file(&file("identity", rest));
}

/// An image-folder PNG (one class, one image in training and test), and the same as images to predict on.
pub fn image(data: &[u8]) {
    let root = file("images", b"").with_extension("d");
    let _ = std::fs::remove_dir_all(&root);
    for class in ["a", "b"] {
        std::fs::create_dir_all(root.join(class)).expect("fuzz image folder");
        std::fs::write(root.join(class).join("x.png"), data).expect("fuzz image");
        std::fs::write(root.join(class).join("y.png"), data).expect("fuzz image");
    }
    let _ = owm::data::load_image_folder(&root, true, 0.5, 1);
    // As records to predict on, the whole folder and one file, for a model of 4×3 luma or RGB images.
    for shape in [[1, 3, 4], [3, 3, 4]] {
        if let Ok(records) = owm::data::read_image_records(&root, shape) {
            assert_eq!((records.len(), records.known[0].as_deref()), (4, Some("a")), "four images, known by their folder");
        }
        let _ = owm::data::read_image_records(&root.join("a/x.png"), shape);
    }
    // As the images of a dataset file: a CIFAR-10 batch, an IDX file.
    let _ = owm::data::read_image_records(&file("records.bin", data), [3, 32, 32]);
    let _ = owm::data::read_image_records(&file("records-idx3-ubyte", data), [1, 3, 4]);
}

/// A PyTorch `state_dict` file imported into the fixture's model.
pub fn pytorch(data: &[u8]) {
    let _ = owm::share::load_pytorch_into(net(), &file("state.safetensors", data));
}

/// A checkpoint file, as `owm resume` and `owm diff` read it.
pub fn checkpoint(data: &[u8]) {
    let path = file("checkpoint.json", data);
    let _ = owm::train::Checkpoint::load(&path);
    let _ = owm::train::NamedWeights::load(&path);
}

/// Records to predict on: the same bytes as a table, as texts and as user-item pairs, each for a bundle
/// trained on its kind ([`owm::train::Predictor`]); every prediction is a probability distribution over the bundle's classes.
pub fn predict(data: &[u8]) {
    let [table, texts, clicks] = predict_bundles();
    for (bundle, name) in [(table, "records.csv"), (texts, "records.txt"), (clicks, "pairs.csv")] {
        let predictor = owm::train::Predictor::load(bundle, owm::core::BackendKind::Flex, None).expect("the fixture bundle loads");
        if let Ok(p) = predictor.predict_file(&file(name, data)) {
            for row in &p.predictions {
                assert!(predictor.classes().contains(&row.label), "a predicted class is one of the bundle's");
                assert!((row.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-6, "probabilities sum to 1");
            }
        }
    }
}

/// An inference request body (KServe v2 JSON), answered by a table, a text and an interactions model as the
/// server answers it: every answer has one label and one probability row per record. As text, also a model
/// argument of `owm serve-model` and a datatype name.
pub fn serve(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = owm::serve::ModelSpec::parse(text);
        let _ = owm::serve::Datatype::parse(text);
    }
    let Ok(request) = owm::serve::InferRequest::parse(data) else { return };
    for bundle in predict_bundles() {
        let predictor = owm::train::Predictor::load(bundle, owm::core::BackendKind::Flex, None).expect("the fixture bundle loads");
        let model = owm::serve::ServedModel::new("m", "1", predictor);
        let Ok(records) = model.records(&request) else { continue };
        let Ok(predictions) = model.predictor().predict(&records) else { continue };
        let response = model.response(&request, &predictions).expect("the outputs asked for were checked with the records");
        for output in &response.outputs {
            assert_eq!(output.shape[0], records.len(), "one row per record in `{}`", output.name);
        }
    }
}

/// A tabular, a text and an interactions bundle, each trained for 4 steps on 80 records, once per process.
fn predict_bundles() -> &'static [PathBuf; 3] {
    static BUNDLES: OnceLock<[PathBuf; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        let root = scratch().join("predict");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("predict fixture folder");
        let table = root.join("train.csv");
        let rows: String = (0..80).map(|i| format!("{},{},{}\n", i % 7, ["red", "blue"][i % 2], ["no", "yes"][(i / 3) % 2])).collect();
        std::fs::write(&table, format!("x,colour,y\n{rows}")).expect("predict fixture table");
        let news = root.join("news.txt");
        let texts: String = (0..80).map(|i| ["体育\t足球比赛 goal\n", "财经\t股票银行 rates\n"][i % 2]).collect();
        std::fs::write(&news, texts).expect("predict fixture texts");
        let clicks = root.join("clicks.csv");
        let pairs: String = (0..80).map(|i| format!("u{},i{},1\n", i % 9, (i * 7) % 11)).collect();
        std::fs::write(&clicks, pairs).expect("predict fixture clicks");
        let options = TabularOptions { target: "y".into(), missing_values: vec!["?".into()], ..Default::default() };
        let mut text = owm::data::TextSource::default();
        text.options.tokenizer = "chars+char-bigrams+jieba".parse().expect("tokenizer");
        let sources = [
            owm::data::DataSource::Tabular { path: table, test: None, validation: None, options },
            owm::data::DataSource::Text { path: news, test: None, validation: None, text },
            owm::data::DataSource::Interactions { path: clicks, options: owm::data::InteractionOptions::default() },
        ];
        sources.map(|source| {
            let dir = root.join(match source {
                owm::data::DataSource::Tabular { .. } => "tabular",
                owm::data::DataSource::Text { .. } => "text",
                _ => "interactions",
            });
            let config = owm::train::ExperimentConfig::default().on_task(owm::data::DataConfig::new(source));
            let config = owm::train::ExperimentConfig { convergence: owm::optim::ConvergenceConfig::steps(4), ..config };
            owm::train::train(&config, &dir, false).expect("predict fixture run");
            dir.join("bundle")
        })
    })
}

/// Command-line specs (UTF-8): a transfer rule, optimiser phases, an early-stopping spec, a registry
/// reference, a memory size.
pub fn specs(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = owm::init::PathRule::parse(text);
    let _ = owm::optim::PhaseConfig::parse_list(text, &owm::optim::ConvergenceConfig::default());
    let _ = owm::share::parse_ref(text);
    // An early-stopping spec that parses is one that checks.
    if let Ok(early) = owm::optim::EarlyStopping::parse(text) {
        assert!(owm::core::Validate::check(&early).is_ok(), "{early:?}");
    }
    let _ = owm::core::parse_size(text);
    // A schedule that parses is one that checks.
    if let Ok(schedule) = owm::optim::Schedule::parse(text) {
        assert!(owm::core::Validate::check(&schedule).is_ok(), "{schedule:?}");
    }
    // A device, and a token file: what is accepted names itself the same way again, and a token is never blank.
    if let Ok(device) = text.parse::<owm::core::BackendKind>() {
        assert_eq!(device.to_string().parse::<owm::core::BackendKind>().ok(), Some(device));
    }
    if let Ok(token) = owm::core::remote::read_token(&file("token", data)) {
        assert!(!token.is_empty() && token.trim() == token);
    }
}

/// Seed inputs of a target, made the way the tests make their fixtures: the writers' own encoders, a real
/// bundle, signature, encrypted bundle and registry entry, and the trace and config of a real training run.
///
/// # Panics
///
/// On an unknown target name, or when the fixtures cannot be written to the scratch folder.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, bytes).and_then(|()| encoder.finish()).expect("gzip in memory")
    };
    let read = |path: PathBuf| std::fs::read(&path).unwrap_or_else(|e| panic!("fuzz seed {}: {e}", path.display()));
    let labels = owm::data::encode_idx(&[3], &[0, 1, 9]);
    let images = owm::data::encode_idx(&[3, 2, 2], &[0, 16, 3, 7, 1, 2, 3, 4, 16, 0, 0, 5]);
    match target {
        "idx" => vec![labels.clone(), images.clone(), gzip(&labels), gzip(&images)],
        "cifar" => vec![owm::data::encode_cifar_batch(&[(3, vec![7; 3072]), (9, (0..3072).map(|i| (i % 251) as u8).collect())])],
        "digits" => [(gzip(&images), gzip(&labels)), (images.clone(), labels.clone())]
            .into_iter()
            .map(|(i, l)| [&(i.len() as u16).to_be_bytes()[..], &i, &l].concat())
            .collect(),
        "config" => {
            let optimizer = serde_json::from_str(r#"{"kind": "ga", "population": 8}"#).expect("ga config");
            let ga = owm::train::ExperimentConfig { optimizer, ..Default::default() };
            vec![owm::train::ExperimentConfig::default().to_json().into_bytes(), ga.to_json().into_bytes(), read(run().join("config.json"))]
        }
        "manifest" => vec![read(fixture().bundle.join(owm::share::MANIFEST_FILE))],
        "safetensors" => vec![read(fixture().bundle.join(owm::share::WEIGHTS_FILE))],
        "trace" => vec![read(run().join("trace.jsonl"))],
        "csv" => vec![
            b"age,sex,chol,target\n63,m,233,yes\n37,f,?,no\n41,f,204,no\n\"5,5\",m,1e3,yes\n".to_vec(),
            b"age\tsex\trest ECG\tnote\ty\nc\td\tnormal left\\ vent\ts\td\n\t\t\tmeta\tclass\n63\tmale\tnormal\tx\t0\n41\t?\tleft vent\t\t1\n".to_vec(),
        ],
        "text" => vec![
            "sports\tA late goal wins the cup\nfinance\t股市今天上涨\n\nsports\tTennis: ÉLAN\n".as_bytes().to_vec(),
            b"label,text\nsports,\"a goal, late\"\nfinance,\"rates\nrise\"\n".to_vec(),
        ],
        "interactions" => vec![b"user,item,label,timestamp\nu1,i1,1,100\nu1,i2,0,101\nu2,i1,1,99\n".to_vec(), b"u1,i1,1\nu2,i2,0\n".to_vec()],
        "recbole" => vec![
            b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t4\t891717742\n".to_vec(),
            b"user_id:token\tage:token\tgender:token\n1\t24\tM\n".to_vec(),
        ],
        "registry" => vec![read(fixture().registry.join("names/net/1.0.0.json"))],
        "signature" => [SignatureFormat::Owm, SignatureFormat::Oms]
            .into_iter()
            .zip(&fixture().public_keys)
            .enumerate()
            .flat_map(|(i, (format, key))| [[&[i as u8][..], &read(fixture().bundle.join(format.file()))].concat(), [&[i as u8][..], &read(key.clone())].concat()])
            .collect(),
        "encrypted" => vec![
            [&[0u8][..], &read(fixture().encrypted.join(owm::share::ENCRYPTED_WEIGHTS_FILE))].concat(),
            [&[1u8][..], &read(fixture().encrypted.join(owm::share::ENCRYPTION_FILE))].concat(),
        ],
        "image" => {
            let mut png = std::io::Cursor::new(Vec::new());
            image::GrayImage::from_fn(4, 3, |x, y| image::Luma([(x * 60 + y) as u8])).write_to(&mut png, image::ImageFormat::Png).expect("png in memory");
            vec![png.into_inner()]
        }
        "pytorch" => vec![read(fixture().pytorch.clone())],
        "checkpoint" => vec![read(run().join("checkpoint.json"))],
        "predict" => vec![b"x,colour,y\n3,red,yes\n?,green,no\n".to_vec(), "体育\t足球 goal\n股票银行\n\n财经\t".as_bytes().to_vec()],
        "serve" => [
            r#"{"parameters":{"content_type":"pd"},"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[3,null]},{"name":"colour","shape":[2,1],"datatype":"BYTES","data":[["red"],["green"]]}]}"#,
            r#"{"id":"t","inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["足球 goal","股票"]}],"outputs":[{"name":"label"}]}"#,
            r#"{"inputs":[{"name":"user","shape":[1],"datatype":"BYTES","data":["u1"]},{"name":"item","shape":[1],"datatype":"BYTES","data":["i7"]}]}"#,
            r#"{"inputs":[{"name":"input","shape":[1,2],"datatype":"INT64","data":[[1,2]]}]}"#,
            "iris@1.0",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        "specs" => [
            "layers.0.=body.",
            "re:^layers\\.(\\d+)\\.=l$1.",
            "conv*.weight=features.*.w",
            "ga:generations=30:population=40,adam",
            "cosine:t_max=900:warmup=100",
            "sgd:lr=0.1:momentum=0.9",
            "m@1.0.0",
            "512M",
            "remote:ws://127.0.0.1:3000",
            "wgpu",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        other => panic!("no fuzz target `{other}`"),
    }
}

/// A real run folder (digits MLP, 4 steps, a checkpoint every 2), trained once per process.
fn run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = scratch().join("run");
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = owm::train::ExperimentConfig { convergence: owm::optim::ConvergenceConfig::steps(4), ..owm::train::ExperimentConfig::default() };
        config.trace.checkpoint_every = 2;
        owm::train::train(&config, &dir, false).expect("fuzz seed run");
        dir
    })
}
