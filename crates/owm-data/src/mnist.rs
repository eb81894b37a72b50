use std::path::{Path, PathBuf};

use crate::{Dataset, Error, Inputs, Result, Splits, check_labels, dataset::digit_names, read_idx};

/// Which of the two files of an IDX dataset to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxSplit {
    /// `train-images-idx3-ubyte` / `train-labels-idx1-ubyte`.
    Train,
    /// `t10k-images-idx3-ubyte` / `t10k-labels-idx1-ubyte`.
    Test,
}

/// The ten Fashion-MNIST class names, in label order.
pub const FASHION_MNIST_CLASSES: [&str; 10] = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

/// Reads one split of MNIST (or Fashion-MNIST, which uses the same file names) from `dir`.
///
/// Each file is looked up as `NAME` and then `NAME.gz`.
/// Pixels keep their raw 0..255 values; fit a [`crate::Normalizer`] to scale them.
///
/// # Errors
///
/// [`Error::Missing`] when a file is absent, and any error of [`read_idx`] or [`check_labels`], naming the
/// file and byte offset; [`Error::CountMismatch`] when images and labels disagree in number.
pub fn load_idx_split(dir: &Path, split: IdxSplit, name: &str, class_names: Vec<String>) -> Result<Dataset> {
    let prefix = match split {
        IdxSplit::Train => "train",
        IdxSplit::Test => "t10k",
    };
    let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = read_idx(&images_path, 3)?;
    let labels = read_idx(&labels_path, 1)?;
    check_labels(&labels_path, &labels, class_names.len())?;
    if images.dims[0] != labels.dims[0] {
        return Err(Error::CountMismatch { images: images_path, labels: labels_path, n_images: images.dims[0], n_labels: labels.dims[0] });
    }
    let labels = labels.data.iter().map(|&l| usize::from(l)).collect();
    let pixels = Inputs::Pixels { shape: [1, images.dims[1], images.dims[2]], values: images.data };
    Dataset::with_inputs(format!("{name}/{prefix}"), pixels, class_names, labels)
}

/// Reads MNIST's train and test splits from `dir`.
///
/// # Errors
///
/// As [`load_idx_split`].
pub fn load_mnist(dir: &Path) -> Result<Splits> {
    Ok(Splits::new(load_idx_split(dir, IdxSplit::Train, "mnist", digit_names())?, load_idx_split(dir, IdxSplit::Test, "mnist", digit_names())?))
}

/// Reads Fashion-MNIST's train and test splits from `dir`.
///
/// # Errors
///
/// As [`load_idx_split`].
pub fn load_fashion_mnist(dir: &Path) -> Result<Splits> {
    let names = || FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect();
    Ok(Splits::new(load_idx_split(dir, IdxSplit::Train, "fashion-mnist", names())?, load_idx_split(dir, IdxSplit::Test, "fashion-mnist", names())?))
}

fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let tried = [name.to_owned(), format!("{name}.gz")];
    tried.iter().map(|n| dir.join(n)).find(|p| p.is_file()).ok_or_else(|| Error::Missing {
        dir: dir.to_path_buf(),
        expected: name.to_owned(),
        tried: tried.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode_idx;

    fn write_split(dir: &Path, prefix: &str, n: usize, labels: &[u8]) {
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), encode_idx(&[n, 28, 28], &vec![7; n * 784])).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), encode_idx(&[labels.len()], labels)).unwrap();
    }

    #[test]
    fn should_load_both_splits() {
        let dir = owm_testkit::tempdir();
        write_split(dir.path(), "train", 3, &[0, 1, 9]);
        write_split(dir.path(), "t10k", 2, &[5, 5]);
        let s = load_mnist(dir.path()).unwrap();
        assert_eq!((s.train.len(), s.test.len(), s.train.input_spec()), (3, 2, owm_core::InputSpec::Image { shape: [1, 28, 28] }));
        assert_eq!(s.train.labels(), [0, 1, 9]);
    }

    #[test]
    fn should_name_the_missing_file() {
        let dir = owm_testkit::tempdir();
        let err = load_mnist(dir.path()).unwrap_err();
        assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");
    }

    #[test]
    fn should_reject_a_label_out_of_range() {
        let dir = owm_testkit::tempdir();
        write_split(dir.path(), "train", 2, &[3, 12]);
        let err = load_idx_split(dir.path(), IdxSplit::Train, "mnist", digit_names()).unwrap_err();
        assert!(matches!(err, Error::Label { offset: 9, label: 12, .. }), "{err}");
        assert!(err.to_string().contains("train-labels-idx1-ubyte"), "{err}");
    }

    #[test]
    fn should_reject_mismatched_counts() {
        let dir = owm_testkit::tempdir();
        write_split(dir.path(), "train", 2, &[3]);
        assert!(matches!(load_idx_split(dir.path(), IdxSplit::Train, "mnist", digit_names()), Err(Error::CountMismatch { n_images: 2, n_labels: 1, .. })));
    }
}
