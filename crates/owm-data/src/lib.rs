//! Offline dataset readers, preprocessing, seeded splits and normalisation for OWM.
//!
//! `owm-data` reads, without any network access, what users of the four applications arrive with:
//! images (MNIST and Fashion-MNIST IDX files, raw or `.gz`; CIFAR-10 binary batches; folders of PNG/JPEG
//! files per class; an embedded copy of the UCI optical hand-written digits that needs no files at all),
//! CSV tables ([`tabular`]), `label<TAB>text` files ([`text`]) and `user,item,label` interactions
//! ([`interactions`]). Each becomes a [`Dataset`] of typed [`Inputs`] — `f32` features, `u8` pixels, token
//! ids or categorical ids — that batches into the [`owm_core::Input`] a model reads, with the
//! [`Preprocessing`] fitted on the training records alone.
//!
//! # Key design decision: every malformed byte is an error that names the file and the offset
//!
//! Readers validate headers, lengths and labels and return [`Error::Format`] or [`Error::Label`] with the file
//! path and the byte offset, never a panic, so a user with a truncated download learns which file to fetch again.
//! Offsets in `.gz` files count bytes of the decompressed stream.
//!
//! # Example
//!
//! ```
//! use owm_data::{DataConfig, Normalizer};
//!
//! let splits = DataConfig::digits().load(42)?;          // 80/20 split, 10% of training held for validation, seeded
//! let validation = splits.validation.as_ref().map_or(0, |v| v.len());
//! assert_eq!(splits.train.len() + validation + splits.test.len(), 1797);
//! let norm = Normalizer::fit(&splits.train)?;            // fitted on the training split only
//! assert_eq!(norm.mean.len(), 64);
//! # Ok::<(), owm_data::Error>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod bounds;
mod cifar;
mod config;
mod dataset;
mod digits;
mod error;
mod example;
mod fetched;
mod idx;
mod images;
pub mod interactions;
mod mnist;
mod normalize;
mod orange;
pub mod recbole;
mod records;
mod sources;
pub mod tabular;
pub mod text;

pub use bounds::{Estimate, FeatureBounds};
pub use cifar::{CIFAR10_CLASSES, CIFAR10_RECORD, encode_cifar_batch, load_cifar10, read_batches};
pub use config::{DEFAULT_VALIDATION_FRACTION, DataConfig, DataSource};
pub use dataset::{Dataset, DatasetInfo, Inputs, Splits};
pub use digits::{DIGITS_LEN, decode_digits, load_digits};
pub use error::{Error, Result};
pub use example::{INPUT_FORMAT, InputSignature, PREPROCESSING_FORMAT, PreprocessingSection, RawExample, StoredExample, StoredInput, input_signature};
pub use fetched::{DATASETS_ENV, datasets_dir, fetched_dataset};
pub use idx::{IdxArray, check_labels, encode_idx, parse_idx, read_idx};
pub use images::{Augment, IMAGE_EXTENSIONS, load_image_folder, read_image_records};
pub use mnist::{FASHION_MNIST_CLASSES, IdxSplit, load_fashion_mnist, load_idx_split, load_mnist};
pub use normalize::{NormalizeBy, Normalizer};
pub use records::{Preparer, RawField, RawPair, RawRecords, RawText, Records};
pub use sources::{Held, InteractionOptions, InteractionSplit, Preprocessing, SideField, SideOf, TextSource, load_interactions, load_tabular, load_text};
