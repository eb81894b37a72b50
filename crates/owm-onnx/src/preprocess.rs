//! The graph's inputs and the recorded preprocessing that turns them into what the network reads.

use owm_core::InputSpec;
use owm_data::tabular::{ColumnPrep, Encoding, TabularPrep};
use owm_data::{DataSource, Preprocessing};

use crate::graph::{Attr, Graph};
use crate::proto::data_type;
use crate::{Error, Pipeline, Result};

/// The name of the single input of a model that reads a tensor (images, tokens, ids), as the inference
/// server names it.
pub const TENSOR_INPUT: &str = "input";

/// The names of the graph's inputs: a table's training columns, or [`TENSOR_INPUT`].
pub fn input_names(pipeline: &Pipeline) -> Vec<String> {
    match pipeline.preparer.map(|p| p.preprocessing()) {
        Some(Preprocessing::Tabular { prep, .. }) => prep
            .columns
            .iter()
            .map(|c| match c {
                ColumnPrep::Numeric { name, .. } | ColumnPrep::Categorical { name, .. } => name.clone(),
            })
            .collect(),
        _ => vec![TENSOR_INPUT.to_string()],
    }
}

/// Declares the graph's inputs and returns the value the network reads: float `[batch, features]` or
/// `[batch, C, H, W]`, int64 `[batch, len]` or `[batch, fields]`.
pub(crate) fn inputs(g: &mut Graph, pipeline: &Pipeline) -> Result<String> {
    let preprocessing = pipeline.preparer.map(|p| (p.preprocessing(), p.source()));
    Ok(match (pipeline.input, preprocessing) {
        (InputSpec::Dense { .. }, Some((Preprocessing::Tabular { prep, .. }, DataSource::Tabular { options, .. }))) => table(g, prep, &options.missing_values),
        (InputSpec::Dense { features }, None) => g.input(TENSOR_INPUT, data_type::FLOAT, &[None, Some(*features)], "the features"),
        (InputSpec::Image { shape }, _) => {
            let dims: Vec<Option<usize>> = std::iter::once(None).chain(shape.iter().map(|&d| Some(d))).collect();
            g.input(TENSOR_INPUT, data_type::FLOAT, &dims, "pixels 0-255, channels first")
        }
        (InputSpec::Tokens { len, .. }, _) => g.input(TENSOR_INPUT, data_type::INT64, &[None, Some(*len)], "token ids (0 padding, 1 unknown)"),
        (InputSpec::Ids { cardinalities }, _) => g.input(TENSOR_INPUT, data_type::INT64, &[None, Some(cardinalities.len())], "one id per field"),
        (InputSpec::Dense { .. }, Some(_)) => return Err(Error::Unsupported("dense features whose preprocessing is not a table's".into())),
    })
}

/// One input per training column, prepared as [`TabularPrep::records`] does and concatenated in order.
fn table(g: &mut Graph, prep: &TabularPrep, missing_values: &[String]) -> String {
    let mut pieces = Vec::with_capacity(prep.columns.len());
    for column in &prep.columns {
        pieces.push(match column {
            ColumnPrep::Numeric { name, fill, shift, scale } => {
                let x = g.input(name, data_type::DOUBLE, &[None, Some(1)], "a number; NaN: missing");
                let missing = g.node("IsNaN", &[&x], vec![]);
                let fill = g.doubles(&[], &[*fill]);
                let filled = g.node("Where", &[&missing, &fill, &x], vec![]);
                let shift = g.doubles(&[], &[*shift]);
                let scale = g.doubles(&[], &[*scale]);
                let centred = g.node("Sub", &[&filled, &shift], vec![]);
                let scaled = g.node("Div", &[&centred, &scale], vec![]);
                g.node("Cast", &[&scaled], vec![Attr::Int("to", i64::from(data_type::FLOAT))])
            }
            ColumnPrep::Categorical { name, categories, fill, encoding } => {
                let x = g.input(name, data_type::STRING, &[None, Some(1)], "a category; a missing-value marker: missing");
                let index = category_index(g, &x, categories, fill, missing_values);
                let rows = encoding_rows(categories.len(), *encoding);
                let width = rows.len() / (categories.len() + 1);
                let table = g.floats(&[categories.len() + 1, width], &rows);
                let gathered = g.node("Gather", &[&table, &index], vec![Attr::Int("axis", 0)]); // [batch, 1, width]
                g.node("Flatten", &[&gathered], vec![Attr::Int("axis", 1)])
            }
        });
    }
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    g.node("Concat", &refs, vec![Attr::Int("axis", 1)])
}

/// `[batch, 1]` int64: a training category's index, the fill's index for a missing-value marker, and
/// `categories.len()` for a category training never saw.
fn category_index(g: &mut Graph, x: &str, categories: &[String], fill: &str, missing_values: &[String]) -> String {
    let unseen = categories.len() as i64;
    let fill = categories.iter().position(|c| c == fill).map_or(unseen, |i| i as i64);
    let mut keys: Vec<String> = categories.to_vec();
    let mut values: Vec<i64> = (0..unseen).collect();
    for marker in missing_values.iter().filter(|m| !categories.contains(m)) {
        if !keys.contains(marker) {
            keys.push(marker.clone());
            values.push(fill);
        }
    }
    g.ml_node("LabelEncoder", &[x], vec![Attr::Strings("keys_strings", keys), Attr::Ints("values_int64s", values), Attr::Int("default_int64", unseen)])
}

/// The feature rows of each category index, then of an unseen category: the identity and a zero row
/// (one-hot), or the index and −1 (ordinal).
fn encoding_rows(categories: usize, encoding: Encoding) -> Vec<f32> {
    match encoding {
        Encoding::OneHot => (0..=categories).flat_map(|row| (0..categories).map(move |k| f32::from(u8::from(row == k)))).collect(),
        Encoding::Ordinal => (0..categories).map(|k| k as f32).chain([-1.0]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_categories_should_get_no_one_hot_feature_and_ordinal_minus_one() {
        assert_eq!(encoding_rows(2, Encoding::OneHot), [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(encoding_rows(3, Encoding::Ordinal), [0.0, 1.0, 2.0, -1.0]);
    }
}
