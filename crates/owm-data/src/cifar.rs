use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::{Dataset, Error, Inputs, Result, Splits};

/// Bytes of one CIFAR-10 record: a label byte, then 32×32 red, green and blue planes.
pub const CIFAR10_RECORD: usize = 1 + 3 * 32 * 32;

/// The ten CIFAR-10 class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Reads CIFAR-10 binary batches (<https://www.cs.toronto.edu/~kriz/cifar.html>, "binary version").
///
/// `dir` is the `cifar-10-batches-bin` folder or a folder containing it.
/// The training split is every `data_batch_N.bin` present (N = 1..5, in order; at least one); the test split is
/// `test_batch.bin`.
/// Pixels keep their raw 0..255 values, channel-major (`[3, 32, 32]`).
///
/// # Errors
///
/// [`Error::Missing`] when no training batch or no test batch is found; [`Error::Format`] when a file's length
/// is not a whole number of 3,073-byte records (naming the offset where the partial record starts);
/// [`Error::Label`] for a label byte above 9.
pub fn load_cifar10(dir: &Path) -> Result<Splits> {
    let nested = dir.join("cifar-10-batches-bin");
    let dir = if nested.is_dir() { nested } else { dir.to_path_buf() };
    let train_files: Vec<PathBuf> = (1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).filter(|p| p.is_file()).collect();
    if train_files.is_empty() {
        return Err(Error::Missing { dir, expected: "CIFAR-10 training batches".into(), tried: "data_batch_1.bin .. data_batch_5.bin".into() });
    }
    let test_file = dir.join("test_batch.bin");
    if !test_file.is_file() {
        return Err(Error::Missing { dir, expected: "CIFAR-10 test batch".into(), tried: "test_batch.bin".into() });
    }
    Ok(Splits::new(read_batches("cifar10/train", &train_files)?, read_batches("cifar10/test", &[test_file])?))
}

/// Reads and concatenates CIFAR-10 batch files.
///
/// # Errors
///
/// As [`load_cifar10`].
pub fn read_batches(name: &str, files: &[PathBuf]) -> Result<Dataset> {
    // Each file is held as bytes while it is checked, and its pixels as f32 in the dataset.
    for path in files {
        let len = std::fs::metadata(path).map_err(|source| Error::Io { path: path.clone(), source })?.len();
        owm_core::check_memory(
            || format!("a CIFAR-10 batch of {len} bytes"),
            u128::from(len) * 5,
            "read fewer batches, or set OWM_MAX_MEMORY if the budget is wrong",
        )
        .map_err(|source| Error::TooLarge { path: path.clone(), source })?;
    }
    // Files are read and checked in parallel, then joined in file order.
    let parts = files
        .par_iter()
        .map(|path| {
            let bytes = crate::error::read_file(path)?;
            let (mut pixels, mut labels) = (Vec::new(), Vec::new());
            parse_cifar_batch(path, &bytes, &mut pixels, &mut labels)?;
            Ok((pixels, labels))
        })
        .collect::<Result<Vec<_>>>()?;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (p, l) in parts {
        pixels.extend_from_slice(&p);
        labels.extend_from_slice(&l);
    }
    let names = CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect();
    Dataset::with_inputs(name, Inputs::Pixels { shape: [3, 32, 32], values: pixels }, names, labels)
}

fn parse_cifar_batch(path: &Path, bytes: &[u8], pixels: &mut Vec<u8>, labels: &mut Vec<usize>) -> Result<()> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(CIFAR10_RECORD) {
        let whole = bytes.len() / CIFAR10_RECORD;
        return Err(Error::Format {
            path: path.to_path_buf(),
            offset: (whole * CIFAR10_RECORD) as u64,
            reason: format!(
                "length {} is not a whole number of {CIFAR10_RECORD}-byte records: {whole} records, then {} stray bytes",
                bytes.len(),
                bytes.len() % CIFAR10_RECORD
            ),
        });
    }
    for (i, record) in bytes.chunks_exact(CIFAR10_RECORD).enumerate() {
        let label = record[0];
        if usize::from(label) >= CIFAR10_CLASSES.len() {
            return Err(Error::Label { path: path.to_path_buf(), offset: (i * CIFAR10_RECORD) as u64, label, num_classes: CIFAR10_CLASSES.len() });
        }
        labels.push(usize::from(label));
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Encodes CIFAR-10 records (used to write test fixtures).
///
/// # Panics
///
/// If an image is not 3,072 bytes.
pub fn encode_cifar_batch(records: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * CIFAR10_RECORD);
    for (label, pixels) in records {
        assert_eq!(pixels.len(), CIFAR10_RECORD - 1, "a CIFAR-10 image has 3,072 bytes");
        out.push(*label);
        out.extend_from_slice(pixels);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(labels: &[u8]) -> Vec<u8> {
        encode_cifar_batch(&labels.iter().map(|&l| (l, vec![l; 3072])).collect::<Vec<_>>())
    }

    #[test]
    fn should_load_batches_from_the_nested_folder() {
        let dir = owm_testkit::tempdir();
        let sub = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("data_batch_1.bin"), records(&[0, 1])).unwrap();
        std::fs::write(sub.join("data_batch_2.bin"), records(&[9])).unwrap();
        std::fs::write(sub.join("test_batch.bin"), records(&[3])).unwrap();
        let s = load_cifar10(dir.path()).unwrap();
        assert_eq!(s.train.labels(), [0, 1, 9]);
        assert_eq!(s.test.item(0)[3071], 3.0);
    }

    #[test]
    fn should_report_a_batch_of_the_wrong_length() {
        let dir = owm_testkit::tempdir();
        let mut bytes = records(&[0, 1]);
        bytes.truncate(CIFAR10_RECORD + 100);
        let path = dir.path().join("data_batch_1.bin");
        std::fs::write(&path, bytes).unwrap();
        let err = read_batches("t", &[path]).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 3073, .. }), "{err}");
        assert!(err.to_string().contains("data_batch_1.bin"), "{err}");
    }

    #[test]
    fn should_report_a_label_out_of_range() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("test_batch.bin");
        std::fs::write(&path, records(&[2, 10])).unwrap();
        let err = read_batches("t", &[path]).unwrap_err();
        assert!(matches!(err, Error::Label { offset: 3073, label: 10, .. }), "{err}");
    }
}
