use std::path::Path;

use crate::{Dataset, Result, check_labels, dataset::digit_names, idx::maybe_gunzip, parse_idx};

const IMAGES: &[u8] = include_bytes!("../data/digits-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("../data/digits-labels-idx1-ubyte.gz");

/// Number of items in the embedded digits dataset.
pub const DIGITS_LEN: usize = 1797;

/// The embedded UCI optical hand-written digits: 1,797 grey images of 8×8 pixels with values 0..16, ten classes.
///
/// The bytes are exactly scikit-learn's `load_digits()` (written by `tools/make_digits.py`), so results can be
/// compared with scikit-learn on the same data.
///
/// Source: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
/// Repository, 1998, doi:10.24432/C50P49 (CC BY 4.0).
///
/// # Errors
///
/// Never for the shipped bytes; the readers' errors if the embedded files were corrupted at build time.
pub fn load_digits() -> Result<Dataset> {
    decode_digits(IMAGES, LABELS)
}

/// Decodes the embedded digits' two IDX files (gzip-compressed or raw): 8×8 images of values 0..16 and labels
/// 0..9, as many of each.
///
/// # Errors
///
/// [`crate::Error::Format`] naming `<embedded>/…` and the byte offset for a corrupt stream, a wrong magic number,
/// rank or element type, a truncated or overlong body, a label above 9 or a pixel above 16;
/// [`crate::Error::FeatureCount`] when the counts differ.
pub fn decode_digits(images: &[u8], labels: &[u8]) -> Result<Dataset> {
    let images_path = Path::new("<embedded>/digits-images-idx3-ubyte.gz");
    let labels_path = Path::new("<embedded>/digits-labels-idx1-ubyte.gz");
    let images = parse_idx(images_path, &maybe_gunzip(images_path, images.to_vec())?, 3)?;
    let labels = parse_idx(labels_path, &maybe_gunzip(labels_path, labels.to_vec())?, 1)?;
    check_labels(labels_path, &labels, 10)?;
    if let Some(i) = images.data.iter().position(|&p| p > 16) {
        return Err(crate::Error::Format {
            path: images_path.to_path_buf(),
            offset: (images.header_len + i) as u64,
            reason: format!("pixel value {} above 16", images.data[i]),
        });
    }
    let features = images.data.iter().map(|&b| f32::from(b)).collect();
    let labels = labels.data.iter().map(|&l| usize::from(l)).collect();
    Dataset::new("digits", [1, images.dims[1], images.dims[2]], digit_names(), features, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_match_scikit_learn_load_digits() {
        let d = load_digits().unwrap();
        assert_eq!((d.len(), d.input_spec()), (DIGITS_LEN, owm_core::InputSpec::Image { shape: [1, 8, 8] }));
        // sklearn.datasets.load_digits(): target[:10] == 0..9; data[0][:8] == [0, 0, 5, 13, 9, 1, 0, 0];
        // np.bincount(target) == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180].
        assert_eq!(&d.labels()[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(&d.item(0)[..8], &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
        let mut counts = [0; 10];
        d.labels().iter().for_each(|&l| counts[l] += 1);
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    }
}
