/// The Burn version OWM is built on (the workspace pins it), recorded in traces.
pub const BURN_VERSION: &str = "0.22.1";

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::{Error, REMOTE_PREFIX, RemoteDevice, Result};

/// The compute backend a run uses, chosen at run time.
///
/// Burn 0.22 has no backend type parameter: the [`Device`] picks the backend, so the same pipeline code runs on
/// each of these. Configs, traces and the command line name a backend by its string form: `flex` (or `cpu`),
/// `ndarray`, `wgpu` (or `gpu`), or `remote:ws://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum BackendKind {
    /// Burn's `flex` CPU backend (pure Rust, SIMD, rayon): the default.
    #[default]
    Flex,
    /// Burn's `ndarray` CPU backend (deprecated upstream; cargo feature `ndarray`).
    NdArray,
    /// Burn's `wgpu` GPU backend (Vulkan, Metal, DX12 or Mesa's lavapipe; cargo feature `wgpu`).
    Wgpu,
    /// A device another process or machine serves with `owm serve`, through Burn's remote backend (cargo
    /// feature `remote`): the operations run there, the autodiff graph and the run folder stay here.
    Remote(RemoteDevice),
}

impl BackendKind {
    /// Every local backend, compiled in or not (a remote one needs an address).
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::NdArray, BackendKind::Wgpu];

    /// The stable lowercase name of the backend, recorded in traces and manifests (`remote` for every remote
    /// device: its address is machine-local, and its token is never written).
    pub fn name(&self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::NdArray => "ndarray",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Remote(_) => "remote",
        }
    }

    /// Whether this build includes the backend.
    pub fn is_compiled(&self) -> bool {
        match self {
            BackendKind::Flex => true,
            BackendKind::NdArray => cfg!(feature = "ndarray"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
            BackendKind::Remote(_) => cfg!(feature = "remote"),
        }
    }

    /// The local backends this build includes.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The (non-autodiff) device of this backend; call `.autodiff()` on it to train. A remote device connects
    /// here.
    ///
    /// # Errors
    ///
    /// [`Error::BackendNotCompiled`] when the cargo feature is off; [`Error::BackendUnavailable`] when `wgpu`
    /// finds no adapter; [`Error::Remote`] when a remote server cannot be reached or refuses the token.
    pub fn device(&self) -> Result<Device> {
        match self {
            BackendKind::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)] // ndarray is deprecated upstream; the design card keeps it selectable.
            BackendKind::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => probe(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice), "wgpu"),
            BackendKind::Remote(remote) => remote.connect(),
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
        match self {
            BackendKind::Remote(remote) => remote.fmt(f),
            local => f.write_str(local.name()),
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some(url) = s.strip_prefix(REMOTE_PREFIX) {
            return RemoteDevice::new(url).map(BackendKind::Remote);
        }
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(BackendKind::Flex),
            "ndarray" => Ok(BackendKind::NdArray),
            "wgpu" | "gpu" => Ok(BackendKind::Wgpu),
            _ => Err(Error::UnknownBackend(s.to_owned())),
        }
    }
}

impl Serialize for BackendKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BackendKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
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
        let remote = "remote:ws://127.0.0.1:3000".parse::<BackendKind>().unwrap();
        assert_eq!((remote.name(), remote.to_string().as_str()), ("remote", "remote:ws://127.0.0.1:3000"));
        assert!(matches!("remote:tcp://h:1".parse::<BackendKind>(), Err(Error::RemoteUrl { .. })));
    }

    #[test]
    fn should_write_configs_as_before_and_never_a_token() {
        let names: Vec<String> = BackendKind::ALL.iter().map(|b| serde_json::to_string(b).unwrap()).collect();
        assert_eq!(names, [r#""flex""#, r#""ndarray""#, r#""wgpu""#]);
        assert_eq!(serde_json::from_str::<BackendKind>(r#""cpu""#).unwrap(), BackendKind::Flex);
        let remote: BackendKind = serde_json::from_str(r#""remote:ws://h:9""#).unwrap();
        assert_eq!(serde_json::to_string(&remote).unwrap(), r#""remote:ws://h:9""#);
        assert!(serde_json::from_str::<BackendKind>(r#""tpu""#).is_err());
    }

    #[test]
    fn should_list_flex_among_the_compiled_backends() {
        let compiled = BackendKind::compiled();
        assert_eq!(compiled[0], BackendKind::Flex);
        assert_eq!(compiled.contains(&BackendKind::Wgpu), cfg!(feature = "wgpu"));
    }

    #[test]
    fn should_report_missing_backends_as_errors() {
        let remote = "remote:ws://127.0.0.1:9".parse::<BackendKind>().unwrap();
        for kind in BackendKind::ALL.into_iter().chain([remote]) {
            match kind.device() {
                Ok(_) => assert!(kind.is_compiled()),
                Err(Error::BackendNotCompiled { .. }) => assert!(!kind.is_compiled()),
                // Nothing listens on port 9 (discard): a compiled-in remote backend reports it, naming the URL.
                Err(Error::Remote { url, .. }) => assert!(kind.is_compiled() && url == "ws://127.0.0.1:9"),
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
}
