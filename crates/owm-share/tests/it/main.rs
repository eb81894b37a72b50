//! The public-API and reference tests of `owm-share`: one test executable, a module per subject.
//!
//! Every test executable links Burn, so each crate has one (`docs/ARCHITECTURE.md`, "Testing"): a new subject
//! is a module here, not a file in `tests/`.

mod properties;
