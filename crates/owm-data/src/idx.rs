//! The IDX format of MNIST and Fashion-MNIST (<http://yann.lecun.com/exdb/mnist/>), raw or gzip-compressed.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The element-type code of unsigned bytes, the only IDX type the image datasets use.
const IDX_U8: u8 = 0x08;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
    /// Length of the header: `data[i]` sits at byte `header_len + i` of the (decompressed) file.
    pub header_len: usize,
}

/// Reads an IDX file of unsigned bytes with `rank` dimensions; `.gz` content is detected by its magic bytes.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] with the byte offset for a corrupt gzip stream,
/// a wrong magic number, an unexpected element type or rank, a truncated header or body, or trailing bytes.
pub fn read_idx(path: &Path, rank: usize) -> Result<IdxArray> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let mut buffered = std::io::BufReader::new(file);
    let gzip = buffered.fill_buf().map_err(|source| Error::Io { path: path.to_path_buf(), source })?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read> = if gzip { Box::new(flate2::bufread::GzDecoder::new(buffered)) } else { Box::new(buffered) };
    // The header first: the body is read only up to the size it declares, and only once that size fits the
    // memory budget (a small gzip stream can claim, or inflate to, gigabytes).
    let header_len = 4 + 4 * rank;
    let mut bytes = Vec::new();
    read_up_to(path, &mut reader, &mut bytes, header_len as u64)?;
    let Ok(n) = declared_len(path, &bytes, rank) else { return parse_idx(path, &bytes, rank) };
    // Pixels are kept as bytes while reading, then as f32 in the dataset.
    owm_core::check_memory(|| format!("IDX data of {n} values"), (n as u128) * 5, "read a smaller file, or set OWM_MAX_MEMORY if the budget is wrong")
        .map_err(|source| Error::TooLarge { path: path.to_path_buf(), source })?;
    read_up_to(path, &mut reader, &mut bytes, n as u64)?;
    // Trailing bytes are counted up to 1 MiB, so that a stream inflating without end is not read to its end.
    const COUNTED: u64 = 1 << 20;
    let trailing = std::io::copy(&mut reader.take(COUNTED + 1), &mut std::io::sink()).map_err(|e| gzip_error(path, bytes.len(), &e))?;
    if trailing > 0 {
        let count = if trailing > COUNTED { "more than 1 MiB of".to_string() } else { trailing.to_string() };
        return Err(Error::Format {
            path: path.to_path_buf(),
            offset: bytes.len() as u64,
            reason: format!("{count} trailing bytes after the data of the declared dimensions"),
        });
    }
    parse_idx(path, &bytes, rank)
}

/// Appends up to `limit` more bytes of `reader` to `bytes`.
fn read_up_to(path: &Path, reader: &mut dyn Read, bytes: &mut Vec<u8>, limit: u64) -> Result<()> {
    let before = bytes.len();
    reader.take(limit).read_to_end(bytes).map_err(|e| gzip_error(path, before, &e))?;
    Ok(())
}

fn gzip_error(path: &Path, at: usize, e: &std::io::Error) -> Error {
    Error::Format { path: path.to_path_buf(), offset: at as u64, reason: format!("corrupt gzip stream after {at} decompressed bytes: {e}") }
}

/// The number of values a complete header declares (`Err` for a header `parse_idx` refuses).
fn declared_len(path: &Path, bytes: &[u8], rank: usize) -> Result<usize> {
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len || bytes[..4] != [0, 0, IDX_U8, rank as u8] {
        return Err(Error::Format { path: path.to_path_buf(), offset: 0, reason: "bad header".into() });
    }
    (0..rank)
        .map(|i| u32::from_be_bytes([bytes[4 + 4 * i], bytes[5 + 4 * i], bytes[6 + 4 * i], bytes[7 + 4 * i]]) as usize)
        .try_fold(1usize, usize::checked_mul)
        .ok_or_else(|| Error::Format { path: path.to_path_buf(), offset: 4, reason: "dimensions overflow".into() })
}

pub(crate) fn maybe_gunzip(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut out).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            offset: out.len() as u64,
            reason: format!("corrupt gzip stream after {} decompressed bytes: {e}", out.len()),
        })?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses IDX bytes already in memory; `path` names the source in errors.
///
/// # Errors
///
/// As [`read_idx`].
pub fn parse_idx(path: &Path, bytes: &[u8], rank: usize) -> Result<IdxArray> {
    let err = |offset: usize, reason: String| Error::Format { path: path.to_path_buf(), offset: offset as u64, reason };
    if bytes.len() < 4 {
        return Err(err(bytes.len(), format!("truncated: {} bytes, shorter than the 4-byte IDX magic number", bytes.len())));
    }
    let expected_magic = [0, 0, IDX_U8, rank as u8];
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(err(
            0,
            format!(
                "wrong magic number {:02x}{:02x}{:02x}{:02x}: an IDX file starts with two zero bytes (expected {})",
                bytes[0],
                bytes[1],
                bytes[2],
                bytes[3],
                hex(&expected_magic)
            ),
        ));
    }
    if bytes[2] != IDX_U8 {
        return Err(err(2, format!("element type 0x{:02x} is not supported (expected 0x08, unsigned byte)", bytes[2])));
    }
    if usize::from(bytes[3]) != rank {
        return Err(err(3, format!("wrong magic number {}: {} dimensions, expected {rank} (magic {})", hex(&bytes[..4]), bytes[3], hex(&expected_magic))));
    }
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(err(bytes.len(), format!("truncated header: {} bytes, expected {header_len}", bytes.len())));
    }
    let dims: Vec<usize> = (0..rank).map(|i| u32::from_be_bytes([bytes[4 + 4 * i], bytes[5 + 4 * i], bytes[6 + 4 * i], bytes[7 + 4 * i]]) as usize).collect();
    let n = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| err(4, format!("dimensions {dims:?} overflow")))?;
    let body = bytes.len() - header_len;
    if body < n {
        return Err(err(bytes.len(), format!("truncated: dimensions {dims:?} need {n} data bytes after the {header_len}-byte header, found {body}")));
    }
    if body > n {
        return Err(err(header_len + n, format!("{} trailing bytes after the data of dimensions {dims:?}", body - n)));
    }
    Ok(IdxArray { dims, data: bytes[header_len..].to_vec(), header_len })
}

/// Checks that every byte of a label array is below `num_classes`.
///
/// # Errors
///
/// [`Error::Label`] naming the file and the byte offset of the first bad label.
pub fn check_labels(path: &Path, labels: &IdxArray, num_classes: usize) -> Result<()> {
    match labels.data.iter().position(|&l| usize::from(l) >= num_classes) {
        Some(i) => Err(Error::Label { path: PathBuf::from(path), offset: (labels.header_len + i) as u64, label: labels.data[i], num_classes }),
        None => Ok(()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join("")
}

/// Encodes an IDX file of unsigned bytes (used to write test fixtures and by `owm-data`'s own tests).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, IDX_U8, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x-idx3-ubyte")
    }

    #[test]
    fn should_parse_a_well_formed_file() {
        let a = parse_idx(p(), &encode_idx(&[2, 1, 3], &[1, 2, 3, 4, 5, 6]), 3).unwrap();
        assert_eq!(a.dims, [2, 1, 3]);
        assert_eq!(a.data, [1, 2, 3, 4, 5, 6]);
        assert_eq!(a.header_len, 16);
    }

    #[test]
    fn should_report_a_truncated_body_with_its_offset() {
        let bytes = encode_idx(&[2, 1, 3], &[1, 2, 3, 4, 5, 6]);
        let err = parse_idx(p(), &bytes[..bytes.len() - 2], 3).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 20, .. }), "{err}");
        assert!(err.to_string().contains("x-idx3-ubyte") && err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn should_report_a_wrong_magic_number() {
        let mut bytes = encode_idx(&[1], &[0]);
        bytes[0] = 0x50; // "PK": a zip archive, say.
        let err = parse_idx(p(), &bytes, 1).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 0, .. }) && err.to_string().contains("wrong magic"), "{err}");
        let err = parse_idx(p(), &encode_idx(&[1, 1], &[0]), 1).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 3, .. }) && err.to_string().contains("wrong magic"), "{err}");
    }

    #[test]
    fn should_report_trailing_bytes() {
        let mut bytes = encode_idx(&[2], &[0, 1]);
        bytes.push(9);
        assert!(matches!(parse_idx(p(), &bytes, 1), Err(Error::Format { offset: 10, .. })));
    }

    #[test]
    fn should_stop_reading_a_gzip_stream_at_its_declared_size() {
        // 2 labels, then 64 MiB of zeros that inflate from a few kilobytes.
        let mut bytes = encode_idx(&[2], &[0, 1]);
        bytes.resize(bytes.len() + (64 << 20), 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("bomb-idx1-ubyte.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let err = read_idx(&path, 1).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 10, .. }) && err.to_string().contains("more than 1 MiB of trailing bytes"), "{err}");
    }

    #[test]
    fn should_report_a_label_out_of_range_with_its_offset() {
        let labels = parse_idx(p(), &encode_idx(&[3], &[1, 10, 2]), 1).unwrap();
        let err = check_labels(p(), &labels, 10).unwrap_err();
        assert!(matches!(err, Error::Label { offset: 9, label: 10, .. }), "{err}");
    }

    #[test]
    fn should_read_gzip_and_report_corrupt_streams() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&encode_idx(&[2], &[3, 4])).unwrap();
        let bytes = gz.finish().unwrap();
        let data = maybe_gunzip(p(), bytes.clone()).unwrap();
        assert_eq!(parse_idx(p(), &data, 1).unwrap().data, [3, 4]);
        let err = maybe_gunzip(p(), bytes[..bytes.len() / 2].to_vec()).unwrap_err();
        assert!(err.to_string().contains("corrupt gzip"), "{err}");
    }
}
