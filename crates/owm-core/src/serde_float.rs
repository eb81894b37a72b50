//! Serde helpers that keep non-finite floats in JSON.
//!
//! `serde_json` writes `NaN` and infinities as `null` and cannot read them back into an `f64`.
//! A diverging loss is exactly what a trace must keep, so these helpers write them as the strings
//! `"NaN"`, `"inf"` and `"-inf"` and read either form.

use serde::{Deserialize, Deserializer, Serializer};

/// `#[serde(with = "owm_core::serde_float")]` for an `f64` field.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

/// Reads a number or one of `"NaN"`, `"inf"`, `"-inf"`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum F {
        N(f64),
        S(String),
    }
    match F::deserialize(d)? {
        F::N(v) => Ok(v),
        F::S(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(serde::de::Error::custom(format!("expected a number, NaN, inf or -inf, got `{other}`"))),
        },
    }
}

/// `#[serde(with = "owm_core::serde_float::f32")]` for an `f64` field that holds an `f32` quantity: written
/// with `f32` precision (shorter), non-finite values as for [`crate::serde_float::serialize`].
pub mod f32 {
    use serde::{Deserializer, Serializer};

    /// Writes `v` rounded to `f32`.
    #[allow(clippy::cast_possible_truncation)]
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        let narrow = *v as f32;
        if narrow.is_finite() { s.serialize_f32(narrow) } else { super::serialize(v, s) }
    }

    /// Reads a number or one of `"NaN"`, `"inf"`, `"-inf"`, as the nearest `f32`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        super::deserialize(d).map(|v| f64::from(v as f32))
    }
}
