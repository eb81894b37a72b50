//! Runs the example on small generated files in the MNIST IDX format, and on the real MNIST when it is fetched.

use std::path::Path;

use owm::data::encode_idx;
use owm::trace::read_trace;

/// Class `c` is a bright 6×6 square at one of ten positions, plus seeded noise.
fn write_split(dir: &Path, prefix: &str, n: usize, seed: u64) {
    let mut rng = owm::core::Rng::new(seed);
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let label = (i % 10) as u8;
        let (row, col) = (2 + 12 * (label as usize / 5), 2 + 5 * (label as usize % 5));
        for r in 0..28 {
            for c in 0..28 {
                let inside = (row..row + 6).contains(&r) && (col..col + 6).contains(&c);
                images.push(if inside { 200 } else { rng.below(60) as u8 });
            }
        }
        labels.push(label);
    }
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), encode_idx(&[n, 28, 28], &images)).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), encode_idx(&[n], &labels)).unwrap();
}

#[test]
fn should_train_on_mnist_format_files() {
    let dir = owm_testkit::tempdir();
    write_split(dir.path(), "train", 300, 1);
    write_split(dir.path(), "t10k", 100, 2);
    let config = config(dir.path(), 3, 7);
    let report = mnist_mlp::run(&config).unwrap();
    assert_eq!(report.training.epochs, 3);
    assert!(report.evaluation.report.accuracy >= 0.9, "accuracy {}", report.evaluation.report.accuracy);
    let trace = read_trace(report.run_dir.join("trace.jsonl")).unwrap();
    assert_eq!(trace.steps().count(), 9); // 300 items / batch 128 = 3 steps per epoch
    assert!(report.bundle_dir.join("weights.safetensors").is_file());
}

#[test]
fn should_name_the_truncated_file() {
    let dir = owm_testkit::tempdir();
    write_split(dir.path(), "train", 20, 1);
    write_split(dir.path(), "t10k", 10, 2);
    let images = dir.path().join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..1000]).unwrap();
    let config = config(dir.path(), 1, 7);
    let err = mnist_mlp::run(&config).unwrap_err().to_string();
    assert!(err.contains("train-images-idx3-ubyte") && err.contains("byte 1000") && err.contains("truncated"), "{err}");
}

#[test]
fn should_train_on_wgpu() {
    let dir = owm_testkit::tempdir();
    write_split(dir.path(), "train", 300, 1);
    write_split(dir.path(), "t10k", 100, 2);
    let config = mnist_mlp::Config { device: owm::core::BackendKind::Wgpu, ..config(dir.path(), 3, 7) };
    let report = mnist_mlp::run(&config).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    assert!(report.evaluation.report.accuracy >= 0.9, "wgpu accuracy {}", report.evaluation.report.accuracy);
}

/// The real MNIST, fetched by `cargo xtask data mnist`: three epochs on 10,000 training digits, scored on the
/// first 2,000 test digits.
#[test]
fn should_learn_the_real_mnist() {
    let fetched = owm::data::datasets_dir().unwrap_or_default().join("mnist");
    let Some(data) = owm_testkit::real_dataset(&fetched, "cargo xtask data mnist") else { return };
    let out = owm_testkit::tempdir();
    let config = mnist_mlp::Config { data_dir: data, train_limit: Some(10_000), test_limit: Some(2_000), ..config(out.path(), 3, 7) };
    let report = mnist_mlp::run(&config).unwrap();
    eprintln!("real MNIST, MLP, 3 epochs on 10,000: test accuracy {:.4}", report.evaluation.report.accuracy);
    let trace = read_trace(report.run_dir.join("trace.jsonl")).unwrap();
    assert_eq!(trace.steps().count(), 3 * 79); // 10,000 digits / batch 128
    assert!(report.evaluation.report.accuracy >= 0.90, "accuracy {}", report.evaluation.report.accuracy);
}

fn config(dir: &Path, epochs: u64, seed: u64) -> mnist_mlp::Config {
    mnist_mlp::Config {
        data_dir: dir.into(),
        fashion: false,
        out: dir.join("run"),
        epochs,
        train_limit: None,
        test_limit: None,
        device: owm::core::BackendKind::Flex,
        seed,
        quiet: true,
    }
}
