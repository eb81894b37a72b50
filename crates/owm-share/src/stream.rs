//! `weights.safetensors` read tensor by tensor, each hashed as it streams past: verifying never holds the
//! whole file in memory, and loading copies each tensor once, into its own buffer.

use std::io::Read;
use std::path::Path;

use safetensors::Dtype;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Bytes read at a time when a tensor is only hashed: small enough to stay in cache.
const CHUNK: usize = 1 << 20;
/// Largest header accepted (safetensors' own limit).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor as read: its header entry, the SHA-256 (hex) of its bytes, and the bytes when kept.
#[derive(Debug)]
pub(crate) struct StreamedTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub sha256: String,
    pub data: Option<Vec<u8>>,
}

#[derive(Deserialize)]
struct Info {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// Reads every tensor of the safetensors file at `path`, in file order, checking the header as
/// `safetensors` does (offsets contiguous from 0, sizes that match dtype and shape, nothing after the last
/// tensor); with `keep`, returns each tensor's bytes too.
///
/// # Errors
///
/// [`Error::Weights`] naming the file and the byte where it stops making sense; [`Error::Io`].
pub(crate) fn read_tensors(path: &Path, keep: bool) -> Result<Vec<StreamedTensor>> {
    let io = |source| Error::Io { op: "read", path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    read_tensors_from(file, file_len, path, keep)
}

/// [`read_tensors`] from `file` (a file, or plaintext decrypted in memory) of `file_len` bytes; `path` names
/// it in errors.
pub(crate) fn read_tensors_from(mut file: impl Read, file_len: u64, path: &Path, keep: bool) -> Result<Vec<StreamedTensor>> {
    let bad = |reason: String| Error::Weights { path: path.to_path_buf(), source: reason.into() };
    let io = |source| Error::Io { op: "read", path: path.to_path_buf(), source };
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(|_| bad(format!("{file_len} bytes: too short for a header length")))?;
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER || 8 + header_len > file_len {
        return Err(bad(format!("header length {header_len} at byte 0 runs past the file's {file_len} bytes")));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).map_err(io)?;
    let entries: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header (bytes 8..{}): {e}", 8 + header_len)))?;
    let mut infos = Vec::with_capacity(entries.len());
    for (name, value) in entries.into_iter().filter(|(k, _)| k != "__metadata__") {
        let info: Info = serde_json::from_value(value).map_err(|e| bad(format!("header entry `{name}`: {e}")))?;
        infos.push((name, info));
    }
    infos.sort_by_key(|(_, i)| i.data_offsets);
    let data_start = 8 + header_len;
    let mut end = 0usize;
    for (name, info) in &infos {
        let (s, e) = info.data_offsets;
        let size = info.shape.iter().try_fold(info.dtype.bitsize(), |a, &d| a.checked_mul(d)).map(|bits| bits / 8);
        if s != end || size != e.checked_sub(s) {
            return Err(bad(format!(
                "tensor `{name}`: data_offsets [{s}, {e}] do not follow byte {end} with {size:?} bytes for {:?} {:?}",
                info.dtype, info.shape
            )));
        }
        end = e;
    }
    if data_start + end as u64 != file_len {
        return Err(bad(format!("the header describes {} bytes, the file has {file_len}", data_start + end as u64)));
    }
    let mut chunk = if keep { Vec::new() } else { vec![0u8; CHUNK.min(end)] };
    let mut tensors = Vec::with_capacity(infos.len());
    for (name, info) in infos {
        let (s, e) = info.data_offsets;
        let truncated = |_| bad(format!("tensor `{name}`: file ends inside bytes {}..{}", data_start + s as u64, data_start + e as u64));
        let mut hasher = Sha256::new();
        let data = if keep {
            let mut data = vec![0u8; e - s];
            file.read_exact(&mut data).map_err(truncated)?;
            hasher.update(&data);
            Some(data)
        } else {
            let mut left = e - s;
            while left > 0 {
                let take = left.min(chunk.len());
                file.read_exact(&mut chunk[..take]).map_err(truncated)?;
                hasher.update(&chunk[..take]);
                left -= take;
            }
            None
        };
        tensors.push(StreamedTensor { name, dtype: info.dtype, shape: info.shape, sha256: format!("{:x}", hasher.finalize()), data });
    }
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> =
            tensors.iter().map(|(n, s, v)| (n.to_string(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect())).collect();
        crate::bundle::weights_file(&bytes, Path::new("w")).unwrap()
    }

    #[test]
    fn should_read_what_safetensors_reads_with_the_same_digests() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("w.safetensors");
        let bytes = file(&[("b", vec![3], vec![1.0, 2.0, 3.0]), ("a", vec![2, 2], vec![4.0; 4])]);
        std::fs::write(&path, &bytes).unwrap();
        let reference = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        for keep in [false, true] {
            let read = read_tensors(&path, keep).unwrap();
            assert_eq!(read.len(), 2);
            for t in &read {
                let view = reference.tensor(&t.name).unwrap();
                assert_eq!((t.dtype, t.shape.as_slice()), (view.dtype(), view.shape()));
                assert_eq!(t.sha256, crate::tensor_digest(view.data()));
                assert_eq!(t.data.as_deref(), keep.then_some(view.data()));
            }
        }
    }

    #[test]
    fn should_name_the_byte_where_a_file_stops_making_sense() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("w.safetensors");
        let bytes = file(&[("a", vec![4], vec![1.0; 4])]);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let err = read_tensors(&path, false).unwrap_err().to_string();
        assert!(err.contains("w.safetensors") && err.contains("the file has"), "{err}");
        std::fs::write(&path, &bytes[..5]).unwrap();
        assert!(read_tensors(&path, false).unwrap_err().to_string().contains("too short"));
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &huge).unwrap();
        assert!(read_tensors(&path, false).unwrap_err().to_string().contains("runs past"));
    }
}
