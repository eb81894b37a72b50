//! Verifiable weight bundles: `weights.safetensors` plus a `manifest.json` of provenance and digests.
//!
//! A bundle is a directory:
//!
//! - `weights.safetensors`: every float parameter, keyed by module path (`layers.0.weight`), `F32`,
//!   little-endian, in Burn's layouts (a `Linear` weight is `[in, out]`);
//! - `manifest.json`: a [`Manifest`]: the model config, init plan and per-parameter init records, optimiser
//!   config, seed, dataset fingerprints and fitted normalisation, evaluation, trace digest, and the SHA-256 of
//!   every tensor's data plus one digest over all of them.
//!
//! # Key design decision: digests over tensor data, not file bytes
//!
//! Each tensor's SHA-256 covers its raw little-endian values; [`Manifest::weights_digest`] covers the sorted
//! paths, shapes and tensor digests.
//! So the digest names the weights, whatever container wrote them, and [`load_bundle`] detects any change to a
//! tensor (or a manifest that no longer matches its weights) and names the tensor.
//! Bundles are written into a temporary directory and renamed into place, so a crash never leaves half a
//! bundle.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use burn::nn::{Linear, LinearConfig};
//! use owm_share::{Manifest, load_bundle, save_bundle};
//!
//! #[derive(Module, Debug)]
//! struct Net { fc: Linear }
//!
//! let device = Device::flex();
//! let net = Net { fc: LinearConfig::new(3, 2).init(&device) };
//! let dir = owm_testkit::tempdir();
//! let saved = save_bundle(dir.path().join("bundle"), &net, Manifest::new(42))?;
//! let bundle = load_bundle(dir.path().join("bundle"))?;
//! assert_eq!(bundle.manifest.weights_digest, saved.weights_digest);
//! let restored = bundle.load_into(Net { fc: LinearConfig::new(3, 2).init(&device) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bundle;
mod error;
mod manifest;

pub use bundle::*;
pub use error::*;
pub use manifest::*;
