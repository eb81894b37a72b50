//! Serde helpers that keep floats exact in JSON.
//!
//! `serde_json` writes `NaN` and infinities as `null` and cannot read them back into an `f64`.
//! A diverging loss is exactly what a trace must keep, so these helpers write them as the strings
//! `"NaN"`, `"inf"` and `"-inf"` and read either form. Long vectors (a checkpoint's weights and optimiser
//! state) go in as [`Packed`]: base64 of their bytes, every bit kept.

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

/// An `f32` vector written as the base64 of its little-endian bytes: a third of the text of decimal numbers,
/// no float formatting (a checkpoint of a 300,000-row embedding table is written in a fraction of the time),
/// and every value kept bit for bit, NaN included. Reads that or a JSON array of numbers (as written before).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packed(pub Vec<f32>);

impl serde::Serialize for Packed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        let bytes: Vec<u8> = self.0.iter().flat_map(|v| v.to_le_bytes()).collect();
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Numbers(Vec<f32>),
        }
        match Form::deserialize(d)? {
            Form::Numbers(v) => Ok(Packed(v)),
            Form::Text(t) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(t.as_bytes()).map_err(serde::de::Error::custom)?;
                if bytes.len() % 4 != 0 {
                    return Err(serde::de::Error::custom(format!("{} bytes of packed f32 values, not a multiple of 4", bytes.len())));
                }
                Ok(Packed(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()))
            }
        }
    }
}

/// `#[serde(with = "owm_core::serde_float::packed")]` for a `Vec<f32>` field, as [`Packed`].
pub mod packed {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `v` as [`super::Packed`].
    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        super::Packed(v.to_vec()).serialize(s)
    }

    /// Reads [`super::Packed`] (or an array of numbers).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        super::Packed::deserialize(d).map(|p| p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Packed;

    #[test]
    fn packed_values_should_round_trip_bit_for_bit_and_read_plain_arrays() {
        let v = Packed(vec![1.5, -0.0, f32::NAN, f32::INFINITY, 1e-40]);
        let text = serde_json::to_string(&v).unwrap();
        let back: Packed = serde_json::from_str(&text).unwrap();
        assert_eq!(back.0.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), v.0.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        assert_eq!(serde_json::from_str::<Packed>("[1.0, 2.5]").unwrap(), Packed(vec![1.0, 2.5]));
        assert!(serde_json::from_str::<Packed>("\"AAA=\"").unwrap_err().to_string().contains("not a multiple of 4"));
    }
}
