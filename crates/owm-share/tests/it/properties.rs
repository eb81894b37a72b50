//! Properties of bundles: any model saved loads back bit for bit, and verifies.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;
use owm_share::{Manifest, load_bundle, save_bundle, verify_bundle};
use proptest::prelude::*;

#[derive(Module, Debug)]
struct Net {
    layers: Vec<Linear>,
}

fn net(widths: &[usize], device: &Device) -> Net {
    Net { layers: widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_model_should_save_load_and_verify(widths in prop::collection::vec(1usize..12, 2..5), seed in any::<u64>()) {
        let device = Device::flex();
        device.seed(seed);
        let original = net(&widths, &device);
        let dir = owm_testkit::tempdir();
        let bundle = dir.path().join("b");
        save_bundle(&bundle, &original, Manifest::new(seed)).unwrap();
        prop_assert!(verify_bundle(&bundle, None).unwrap().ok());
        // Into a fresh model with other random values: every tensor comes back bit for bit.
        device.seed(seed.wrapping_add(1));
        let loaded = load_bundle(&bundle).unwrap().load_into(net(&widths, &device)).unwrap();
        prop_assert_eq!(owm_core::param_data(&loaded), owm_core::param_data(&original));
    }
}
