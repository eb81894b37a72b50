//! Runs the ResNet recipe on small generated files in the CIFAR-10 binary format: it learns, its bundle
//! (with the batch norms' running statistics) evaluates as the run did, the run replays bit for bit, and a
//! run resumed from a checkpoint ends with the uninterrupted run's weights and buffers.

use std::path::Path;

use cifar10_resnet::{Config, experiment, run};
use owm::core::BackendKind;
use owm::data::encode_cifar_batch;
use owm::train::{TrainOptions, evaluate_bundle, files, train_with};

/// Four classes that a horizontal flip or a shift leaves alone: class `c` is an 8×8 patch at a random place
/// of the red or green plane (`c % 2`) striped across or down (`c / 2`), on noise.
fn records(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = owm::core::Rng::new(seed);
    let records: Vec<(u8, Vec<u8>)> = (0..n)
        .map(|i| {
            let label = (i % 4) as u8;
            let (plane, across) = (label as usize % 2, label / 2 == 1);
            let (r0, c0) = (4 + rng.below(16) as usize, 4 + rng.below(16) as usize);
            (0..3072)
                .map(|p| {
                    let (y, x) = ((p % 1024) / 32, p % 32);
                    let inside = p / 1024 == plane && (r0..r0 + 8).contains(&y) && (c0..c0 + 8).contains(&x);
                    let stripe = if across { y % 2 == 0 } else { x % 2 == 0 };
                    match (inside, stripe) {
                        (true, true) => 230,
                        (true, false) => 0,
                        _ => rng.below(90) as u8,
                    }
                })
                .collect::<Vec<u8>>()
        })
        .enumerate()
        .map(|(i, pixels)| ((i % 4) as u8, pixels))
        .collect();
    encode_cifar_batch(&records)
}

fn write_data(dir: &Path) {
    let data = dir.join("cifar-10-batches-bin");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("data_batch_1.bin"), records(192, 1)).unwrap();
    std::fs::write(data.join("test_batch.bin"), records(64, 2)).unwrap();
}

fn config(dir: &Path, device: BackendKind, epochs: u64) -> Config {
    Config {
        data_dir: dir.join("cifar-10-batches-bin"),
        out: dir.join(format!("run-{}", device.name())),
        depth: 8,
        width: 8,
        epochs,
        batch_size: 32,
        lr: 0.05,
        no_augment: false,
        train_limit: None,
        test_limit: None,
        device,
        seed: 3,
        quiet: true,
    }
}

#[test]
fn resnet_should_learn_and_its_bundle_should_evaluate_as_the_run_did() {
    let dir = owm_testkit::tempdir();
    write_data(dir.path());
    let report = run(&config(dir.path(), BackendKind::Flex, 6)).unwrap();
    let accuracy = report.evaluation.report.accuracy;
    eprintln!("ResNet-8 (width 8) on generated CIFAR-format stripes: accuracy {accuracy:.4}");
    assert!(accuracy >= 0.9, "test accuracy {accuracy}");
    // The running statistics are in the bundle but not among the traced parameters.
    assert!(report.manifest.tensors.contains_key("blocks.0.bn1.running_mean"));
    assert!(report.manifest.tensors.contains_key("blocks.1.shortcut.conv.weight"));
    // Reloading the bundle (weights and buffers) reproduces the evaluation exactly.
    let again = evaluate_bundle(&report.bundle_dir, BackendKind::Flex, None).unwrap();
    assert!(again.same_test_data);
    assert_eq!(again.report.report, report.evaluation.report);
    // Augmented batches and batch-norm statistics replay bit for bit.
    let replayed = owm::train::replay(&report.run_dir, owm::train::ReplayOptions::default()).unwrap();
    assert!(replayed.reproduced(), "{:?}", replayed.divergence);
}

#[test]
fn a_resumed_resnet_run_should_end_with_the_same_weights_and_buffers() {
    let dir = owm_testkit::tempdir();
    write_data(dir.path());
    let mut exp = experiment(&config(dir.path(), BackendKind::Flex, 3)).unwrap();
    exp.trace.checkpoint_every = 10; // 6 steps per epoch: the last checkpoint is at step 10
    let full = train_with(&exp, &dir.path().join("full"), TrainOptions::default()).unwrap();
    let checkpoint = dir.path().join("full").join(files::CHECKPOINT);
    let resumed = train_with(&exp, &dir.path().join("resumed"), TrainOptions { resume: Some(checkpoint), ..TrainOptions::default() }).unwrap();
    assert_eq!(resumed.manifest.tensors["stem_bn.running_var"], full.manifest.tensors["stem_bn.running_var"]);
    assert_eq!(resumed.manifest.weights_digest, full.manifest.weights_digest);
}

#[test]
fn should_train_on_wgpu() {
    let dir = owm_testkit::tempdir();
    write_data(dir.path());
    let report = run(&config(dir.path(), BackendKind::Wgpu, 6)).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    assert!(report.evaluation.report.accuracy >= 0.8, "wgpu test accuracy {}", report.evaluation.report.accuracy);
}
