//! Verifiable weight bundles: `weights.safetensors` plus a `manifest.json` of provenance and digests.
//!
//! A bundle is a directory:
//!
//! - `weights.safetensors`: every float parameter and buffer (batch-norm running statistics), keyed by module
//!   path (`layers.0.weight`), `F32`, little-endian, in Burn's layouts (a `Linear` weight is `[in, out]`);
//! - `manifest.json`: a [`Manifest`] (`owm-bundle/2`): the model config, init plan and per-parameter init
//!   records, optimiser config, seed, dataset fingerprints, fitted preprocessing and normalisation,
//!   evaluation, code versions, licences, lineage, the SHA-256 of every tensor's data and of every other file
//!   (the trace), and one `bundle_digest` over the canonical JSON of all of it;
//! - optionally signatures ([`sign_bundle`], [`check_signature`]): `model.sig`, an OpenSSF Model Signing v1.0
//!   signature (ECDSA P-256 over an in-toto statement of every file's SHA-256, which the reference
//!   `model_signing` tool checks), and/or `signature.json`, OWM's Ed25519 signature over the bundle digest and
//!   every file's SHA-256.
//!
//! [`verify_bundle`] checks all of it and lists every mismatch, naming the file and the part;
//! [`load_bundle`] refuses a bundle with any. `owm-bundle/1` bundles (no `bundle_digest`) still load.
//!
//! # Key design decision: digests over tensor data, not file bytes
//!
//! Each tensor's SHA-256 covers its raw little-endian values; [`Manifest::weights_digest`] covers the sorted
//! paths, shapes and tensor digests.
//! So the digest names the weights, whatever container wrote them, and [`load_bundle`] detects any change to a
//! tensor (or a manifest that no longer matches its weights) and names the tensor. The `bundle_digest` then
//! binds those digests with every provenance section, so editing the recorded evaluation is caught too.
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
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod bundle;
mod card;
mod encrypt;
mod error;
mod extend;
mod keys;
mod manifest;
mod oms;
mod registry;
mod sign;
mod stream;
mod torch;

pub use bundle::{
    Bundle, MANIFEST_FILE, Verification, WEIGHTS_FILE, load_bundle, load_bundle_with, save_bundle, save_bundle_with, verify_bundle, verify_bundle_with,
};
pub use card::{CARD_FILE, MofClass, OPEN_LICENSES, Openness, model_card, openness};
pub use encrypt::{
    ENCRYPTED_WEIGHTS_FILE, ENCRYPTION_FILE, EncryptionRecord, Identities, Recipient, decrypt_bundle, encrypt_bundle, encryption_record, generate_age_key,
};
pub use error::{Error, Result};
pub use extend::add_file;
pub use keys::{KeyAlgorithm, PublicKey, SecretKey, generate_keypair, read_public_key, read_secret_key};
pub use manifest::{BaseModel, FileEntry, MANIFEST_FORMAT, MANIFEST_FORMAT_V1, Manifest, TensorEntry, TraceRef, canonical_json, tensor_digest, weights_digest};
pub use oms::{OMS_PREDICATE_TYPE, OMS_SIGNATURE_FILE};
pub use registry::{Entry, REGISTRY_ENV, Registry, parse_ref};
pub use sign::{BundleSignature, SIGNATURE_FILE, SIGNATURE_FORMAT, SignatureFormat, Signed, Statement, check_signature, sign_bundle};
pub use torch::{export_pytorch, load_pytorch_into};
