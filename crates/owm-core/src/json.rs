//! JSON encoding of OWM's own records (manifests, configs, trace events, reports).
//!
//! Encoding them cannot fail: every map they hold has string keys, and serde_json writes any float (non-finite
//! ones through [`crate::serde_float`]). These functions hold that reasoning in one place, instead of an
//! `expect` at every call.

use serde::Serialize;

// The one place where an encoding error is treated as unreachable, for the reason in the module docs.
#[allow(clippy::expect_used)]
fn infallible<R>(result: serde_json::Result<R>) -> R {
    result.expect("OWM records have string keys and serialisable fields")
}

/// `value` as a JSON tree.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> serde_json::Value {
    infallible(serde_json::to_value(value))
}

/// `value` as compact JSON bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    infallible(serde_json::to_vec(value))
}

/// `value` as indented JSON bytes.
pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    infallible(serde_json::to_vec_pretty(value))
}

/// `value` as a compact JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    infallible(serde_json::to_string(value))
}

/// `value` as an indented JSON string.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    infallible(serde_json::to_string_pretty(value))
}

#[cfg(test)]
mod tests {
    #[test]
    fn should_encode_like_serde_json_and_write_non_finite_floats_as_null() {
        let v = serde_json::json!({"a": [1, 2.5, "x"]});
        assert_eq!(super::to_string(&v), serde_json::to_string(&v).unwrap());
        assert_eq!(super::to_vec_pretty(&v), serde_json::to_vec_pretty(&v).unwrap());
        assert_eq!(super::to_string(&[f64::NAN, f64::INFINITY]), "[null,null]");
    }
}
