/// The Burn version OWM is built on (the workspace pins it), recorded in traces.
pub const BURN_VERSION: &str = "0.22.1";

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The compute backend a run uses, chosen at run time.
///
/// Burn 0.22 has no backend type parameter: the [`Device`] picks the backend, so the same pipeline code runs on
/// each of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Burn's `flex` CPU backend (pure Rust, SIMD, rayon): the default.
    #[default]
    #[serde(alias = "cpu")]
    Flex,
    /// Burn's `ndarray` CPU backend (deprecated upstream; cargo feature `ndarray`).
    NdArray,
    /// Burn's `wgpu` GPU backend (Vulkan, Metal, DX12 or Mesa's lavapipe; cargo feature `wgpu`).
    Wgpu,
}

impl BackendKind {
    /// Every backend, compiled in or not.
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::NdArray, BackendKind::Wgpu];

    /// The stable lowercase name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::NdArray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// Whether this build includes the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Flex => true,
            BackendKind::NdArray => cfg!(feature = "ndarray"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The backends this build includes.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The (non-autodiff) device of this backend; call `.autodiff()` on it to train.
    ///
    /// # Errors
    ///
    /// [`Error::BackendNotCompiled`] when the cargo feature is off; [`Error::BackendUnavailable`] when `wgpu`
    /// finds no adapter.
    pub fn device(self) -> Result<Device> {
        match self {
            BackendKind::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)] // ndarray is deprecated upstream; the design card keeps it selectable.
            BackendKind::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => probe(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice), "wgpu"),
            #[allow(unreachable_patterns)] // Reachable only when a feature is off.
            other => Err(Error::BackendNotCompiled { backend: other.name(), feature: other.name() }),
        }
    }
}

/// Runs one tiny operation on `device`: wgpu panics when no adapter (GPU or Vulkan driver) exists, and that
/// panic becomes [`Error::BackendUnavailable`] here instead of a crash in the middle of a run.
#[cfg(feature = "wgpu")]
fn probe(device: Device, backend: &'static str) -> Result<Device> {
    let d = device.clone();
    match std::panic::catch_unwind(move || burn::tensor::Tensor::<1>::ones([1], &d).into_data()) {
        Ok(_) => Ok(device),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the backend failed to start".into());
            Err(Error::BackendUnavailable { backend, reason })
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(BackendKind::Flex),
            "ndarray" => Ok(BackendKind::NdArray),
            "wgpu" | "gpu" => Ok(BackendKind::Wgpu),
            _ => Err(Error::UnknownBackend(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_parse_command_line_names() {
        assert_eq!("cpu".parse::<BackendKind>().unwrap(), BackendKind::Flex);
        assert_eq!("ndarray".parse::<BackendKind>().unwrap(), BackendKind::NdArray);
        assert_eq!("WGPU".parse::<BackendKind>().unwrap(), BackendKind::Wgpu);
        assert!(matches!("tpu".parse::<BackendKind>(), Err(Error::UnknownBackend(_))));
    }

    #[test]
    fn should_list_flex_among_the_compiled_backends() {
        let compiled = BackendKind::compiled();
        assert_eq!(compiled[0], BackendKind::Flex);
        assert_eq!(compiled.contains(&BackendKind::Wgpu), cfg!(feature = "wgpu"));
    }

    #[test]
    fn should_report_missing_backends_as_errors() {
        for kind in BackendKind::ALL {
            match kind.device() {
                Ok(_) => assert!(kind.is_compiled()),
                Err(Error::BackendNotCompiled { .. }) => assert!(!kind.is_compiled()),
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
}
