//! The default run (`owm train` with no options: digits MLP, He-uniform init, Adam, seed 42) pinned by digest.
//!
//! Its initial weights depend only on OWM's host RNG and IEEE arithmetic, so their digests are the same on
//! every platform. Its trained weights depend on the CPU's SIMD kernels too (another vector width sums in
//! another order), so their digest is pinned for the AVX-512 machines these values were recorded on, and
//! elsewhere two runs must still agree bit for bit.

use owm_core::ParamSet;
use owm_train::{ExperimentConfig, train, weight_digests};

#[test]
fn the_default_runs_initial_weights_should_have_the_pinned_digests() {
    let config = ExperimentConfig::default();
    let splits = config.data.load(config.seed).unwrap();
    let device = burn::tensor::Device::flex();
    let model = config.model.init(&splits.train.input_spec(), splits.train.num_classes(), &device).unwrap();
    let (model, _) = config.init.apply(model, config.seed).unwrap();
    let digests = weight_digests(&ParamSet::of(&model));
    let pinned = [
        ("layers.0.weight", "a2171efd02caa34160aa81e6eb8f789c3c8455134e9398e0548f25d87c4f8c57"),
        ("layers.0.bias", "076a27c79e5ace2a3d47f9dd2e83e4ff6ea8872b3c2218f66c92b89b55f36560"),
        ("layers.1.weight", "4c4ec44f4ff9e93c80fd428dc17a66d6369121df8724c378174e1ccd88da23ad"),
        ("layers.1.bias", "2c34ce1df23b838c5abf2a7f6437cca3d3067ed509ff25f11df6b11b582b51eb"),
    ];
    let got: Vec<(&str, &str)> = digests.iter().map(|(p, d)| (p.as_str(), d.as_str())).collect();
    assert_eq!(got, pinned);
}

#[test]
fn the_default_runs_trained_weights_should_have_the_pinned_digest() {
    let dir = owm_testkit::tempdir();
    let first = train(&ExperimentConfig::default(), &dir.path().join("a"), false).unwrap().manifest.weights_digest;
    let avx512 = cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("avx512f");
    if avx512 {
        assert_eq!(first, "8b030c92ba9270d8e03c7b87f35fd3bfbb3f1a58f3b1b5d7ad691afff28c83a2");
    } else {
        println!("not an AVX-512 machine: checking that two runs agree instead of the pinned digest");
        let second = train(&ExperimentConfig::default(), &dir.path().join("b"), false).unwrap().manifest.weights_digest;
        assert_eq!(first, second);
    }
}
