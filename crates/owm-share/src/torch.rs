//! PyTorch interchange: a bundle's tensors in PyTorch's layout and names, and a PyTorch `state_dict` saved as
//! safetensors loaded into an OWM (Burn) module.
//!
//! Burn stores a `Linear` weight as `[in, out]`, PyTorch as `[out, in]`; convolutions, embeddings and biases
//! share one layout; Burn's batch norm calls PyTorch's `weight`/`bias` `gamma`/`beta`, and PyTorch adds a
//! `num_batches_tracked` counter that OWM does not use. The owner of each tensor (recorded in the manifest
//! by [`crate::save_bundle`]) decides which rule applies.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::DType;
use owm_core::write_atomic;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::{Bundle, Error, Result};

/// The PyTorch name of an OWM tensor owned by `owner`.
fn torch_name(path: &str, owner: &str) -> String {
    match (owner, path.rsplit_once('.')) {
        ("BatchNorm", Some((prefix, "gamma"))) => format!("{prefix}.weight"),
        ("BatchNorm", Some((prefix, "beta"))) => format!("{prefix}.bias"),
        _ => path.to_string(),
    }
}

/// Whether the tensor is stored transposed in PyTorch (a `Linear` weight).
fn transposed(path: &str, owner: &str, shape: &[usize]) -> bool {
    owner == "Linear" && path.ends_with(".weight") && shape.len() == 2
}

fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Writes the bundle's tensors to `out` as a safetensors `state_dict` in PyTorch's layout and names
/// (`torch.nn.Module.load_state_dict(safetensors.torch.load_file(out))` for a module with the same
/// attribute names), atomically.
///
/// # Errors
///
/// [`Error::Weights`] when a tensor cannot be serialised; a file error naming `out`.
pub fn export_pytorch(bundle: &Bundle, out: &Path) -> Result<usize> {
    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for (path, data) in &bundle.tensors {
        let owner = bundle.manifest.tensors.get(path).map_or("", |e| e.owner.as_str());
        let shape = data.shape().to_vec();
        let values =
            data.clone().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Weights { path: out.into(), source: format!("`{path}`: {e:?}").into() })?;
        let (shape, values) =
            if transposed(path, owner, &shape) { (vec![shape[1], shape[0]], transpose(&values, shape[0], shape[1])) } else { (shape, values) };
        tensors.insert(torch_name(path, owner), (shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }
    let views = tensors
        .iter()
        .map(|(name, (shape, bytes))| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Weights { path: out.into(), source: format!("`{name}`: {e}").into() })
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = Some([("format".to_string(), "pt".to_string()), ("owm_layout".to_string(), "pytorch".to_string())].into());
    let bytes = safetensors::tensor::serialize(views, metadata).map_err(|e| Error::Weights { path: out.into(), source: e.into() })?;
    write_atomic(out, &bytes)?;
    Ok(tensors.len())
}

/// Loads a PyTorch `state_dict` saved with `safetensors.torch.save_file` into `module` (parameters and
/// batch-norm statistics), converting names and layouts; every tensor of the module must be in the file, and
/// every tensor of the file used (PyTorch's `num_batches_tracked` aside).
///
/// # Errors
///
/// [`Error::Weights`] for a file that is not safetensors or holds non-`F32` data; [`Error::Mismatch`] listing
/// the module tensors the file lacks, the file tensors the module lacks, or a shape that differs.
pub fn load_pytorch_into<M: Module>(module: M, file: &Path) -> Result<M> {
    let bytes = std::fs::read(file).map_err(|source| Error::Io { op: "read", path: file.into(), source })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Weights { path: file.into(), source: e.into() })?;
    let owners: BTreeMap<String, String> = owm_core::param_infos(&module).into_iter().map(|p| (p.path, p.owner)).collect();
    let mut used = Vec::new();
    let mut missing = Vec::new();
    let module = owm_core::replace_state(module, |path, shape| {
        let owner = owners.get(path).map_or("BatchNorm", String::as_str);
        let name = torch_name(path, owner);
        let Ok(view) = st.tensor(&name) else {
            missing.push(name);
            return Ok(None);
        };
        if view.dtype() != Dtype::F32 {
            return Err(owm_core::Error::Param { path: path.into(), reason: format!("`{name}` in {} is {:?}, not F32", file.display(), view.dtype()) });
        }
        let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let values = if transposed(path, owner, shape) {
            if view.shape() != [shape[1], shape[0]] {
                return Err(owm_core::Error::Param {
                    path: path.into(),
                    reason: format!("`{name}` is {:?}, expected {:?}", view.shape(), [shape[1], shape[0]]),
                });
            }
            transpose(&values, shape[1], shape[0])
        } else {
            if view.shape() != shape {
                return Err(owm_core::Error::Param { path: path.into(), reason: format!("`{name}` is {:?}, expected {shape:?}", view.shape()) });
            }
            values
        };
        used.push(name);
        Ok(Some(TensorData::new(values, shape.to_vec()).convert_dtype(DType::F32)))
    })
    .map_err(|e| Error::Mismatch(e.to_string()))?;
    let unused: Vec<String> =
        st.names().into_iter().filter(|n| !used.iter().any(|u| u == *n) && !n.ends_with("num_batches_tracked")).map(str::to_string).collect();
    if !missing.is_empty() || !unused.is_empty() {
        return Err(Error::Mismatch(format!("{}: the file lacks {missing:?}; the module has nothing for {unused:?}", file.display())));
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_layouts_should_follow_pytorch() {
        assert_eq!(torch_name("bn1.gamma", "BatchNorm"), "bn1.weight");
        assert_eq!(torch_name("bn1.running_var", "BatchNorm"), "bn1.running_var");
        assert_eq!(torch_name("fc.gamma", "Linear"), "fc.gamma");
        assert!(transposed("fc1.weight", "Linear", &[400, 120]));
        assert!(!transposed("embedding.weight", "Embedding", &[10, 4]));
        assert_eq!(transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
