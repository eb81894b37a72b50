//! Runs the reference recipe on small generated files in the CIFAR-10 binary format.

use std::path::Path;

use owm::data::encode_cifar_batch;
use owm::trace::read_trace;

/// Class `c` has its red plane at brightness 25·c, the others noisy.
fn records(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = owm::core::Rng::new(seed);
    let records: Vec<(u8, Vec<u8>)> = (0..n)
        .map(|i| {
            let label = (i % 10) as u8;
            let pixels = (0..3072).map(|p| if p < 1024 { 25 * label } else { rng.below(256) as u8 }).collect();
            (label, pixels)
        })
        .collect();
    encode_cifar_batch(&records)
}

#[test]
fn should_train_the_reference_recipe_on_cifar_format_files() {
    let dir = owm_testkit::tempdir();
    let data = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("data_batch_1.bin"), records(256, 1)).unwrap();
    std::fs::write(data.join("test_batch.bin"), records(64, 2)).unwrap();
    let config = config(dir.path(), 4, 3);
    let experiment = cifar10_lenet::experiment(&config);
    assert_eq!((experiment.batch_size, experiment.optimizer.lr()), (64, Some(1e-3)));
    let report = cifar10_lenet::run(&config).unwrap();
    let trace = read_trace(report.run_dir.join("trace.jsonl")).unwrap();
    let losses: Vec<f64> = trace.epochs().map(|r| r.train_loss).collect();
    assert_eq!(losses.len(), 4);
    assert!(losses[3] < losses[0], "epoch losses {losses:?}");
    assert_eq!(report.manifest.tensors["fc1.weight"].shape, [400, 120]);
}

#[test]
fn should_reject_a_batch_of_the_wrong_length() {
    let dir = owm_testkit::tempdir();
    let mut bytes = records(3, 1);
    bytes.pop();
    std::fs::write(dir.path().join("data_batch_1.bin"), bytes).unwrap();
    std::fs::write(dir.path().join("test_batch.bin"), records(1, 2)).unwrap();
    let config = config(dir.path(), 1, 3);
    let err = cifar10_lenet::run(&config).unwrap_err().to_string();
    assert!(err.contains("data_batch_1.bin") && err.contains("byte 6146"), "{err}");
}

#[test]
fn should_train_on_wgpu() {
    let dir = owm_testkit::tempdir();
    std::fs::write(dir.path().join("data_batch_1.bin"), records(256, 1)).unwrap();
    std::fs::write(dir.path().join("test_batch.bin"), records(64, 2)).unwrap();
    let config = cifar10_lenet::Config { device: owm::core::BackendKind::Wgpu, ..config(dir.path(), 4, 3) };
    let report = cifar10_lenet::run(&config).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    let trace = read_trace(report.run_dir.join("trace.jsonl")).unwrap();
    let losses: Vec<f64> = trace.epochs().map(|r| r.train_loss).collect();
    assert!(losses[3] < losses[0], "epoch losses on wgpu {losses:?}");
}

fn config(dir: &Path, epochs: u64, seed: u64) -> cifar10_lenet::Config {
    cifar10_lenet::Config {
        data_dir: dir.into(),
        out: dir.join("run"),
        epochs,
        train_limit: None,
        test_limit: None,
        device: owm::core::BackendKind::Flex,
        seed,
        quiet: true,
    }
}
