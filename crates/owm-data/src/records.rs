//! Records to predict on: raw files in the layouts training reads, prepared exactly as a bundle's training
//! data was, by the preprocessing it recorded.

use std::collections::BTreeMap;
use std::path::Path;

use crate::tabular::{TabularOptions, read_any};
use crate::text::{Vocab, tokenize};
use crate::{DataSource, Error, Inputs, Preprocessing, Result};

/// Raw records prepared for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Records {
    /// Each record's id: the 1-based line it came from, or an image's path.
    pub ids: Vec<String>,
    /// What the model reads.
    pub inputs: Inputs,
    /// Each record's class as the file gives it, where it does.
    pub known: Vec<Option<String>>,
    /// Missing values filled in, per column (tables).
    pub imputed: BTreeMap<String, u64>,
}

impl Records {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Preprocessing {
    /// Reads the records in `path` and prepares them as this preprocessing prepared the training data of
    /// `source`:
    /// - a table (CSV or Orange `.tab`, read with the training options) holding the training columns, the
    ///   target column optional ([`TabularPrep::records`](crate::tabular::TabularPrep::records));
    /// - texts in the training layout: lines `label<TAB>text` or just `text` (a line's first tab ends its
    ///   label), or CSV rows with the text column, the label column optional; tokenised and encoded with the
    ///   training vocabulary, unknown tokens as `<unk>`.
    ///
    /// # Errors
    ///
    /// Reading errors naming file and line; [`Error::Table`] naming a column training did not read;
    /// [`Error::TableColumn`] for a column training read that the file lacks; [`Error::TableEmpty`] for no
    /// record; [`Error::Unpredictable`] for interactions, and for a `source` of another kind than this
    /// preprocessing.
    pub fn records(&self, source: &DataSource, path: &Path) -> Result<Records> {
        let records = match (self, source) {
            (Preprocessing::Tabular { prep, .. }, DataSource::Tabular { options, .. }) => {
                let (table, options) = read_any(path, options)?;
                let r = prep.records(&table, &options)?;
                let features = prep.feature_names().len();
                Records {
                    ids: r.lines.iter().map(u64::to_string).collect(),
                    inputs: Inputs::Dense { shape: vec![features], values: r.features },
                    known: r.known,
                    imputed: r.imputed,
                }
            }
            (Preprocessing::Text { options, vocab, max_len }, DataSource::Text { text, .. }) => {
                let texts = read_texts(path, text.csv_columns.as_ref())?;
                let vocab = Vocab::from_tokens(vocab.clone());
                let mut tokens = Vec::with_capacity(texts.len() * max_len);
                for (_, _, body) in &texts {
                    tokens.extend(vocab.encode(&tokenize(body, options), *max_len));
                }
                let (ids, known) = texts.into_iter().map(|(line, label, _)| (line.to_string(), label)).unzip();
                Records { ids, inputs: Inputs::Tokens { len: *max_len, vocab: vocab.len(), ids: tokens }, known, imputed: BTreeMap::new() }
            }
            (Preprocessing::Interactions { .. }, _) => {
                return Err(Error::Unpredictable("interactions (user and item ids with side features) are not read as raw records yet".into()));
            }
            _ => return Err(Error::Unpredictable("the recorded preprocessing and data source are of different kinds".into())),
        };
        if records.is_empty() {
            return Err(Error::TableEmpty(path.to_path_buf()));
        }
        Ok(records)
    }
}

/// `(line, label, text)` of every record of a text file: `label<TAB>text` or `text` lines (blank lines
/// skipped), or, with `csv_columns` (label, text), CSV rows whose label column is optional.
fn read_texts(path: &Path, csv_columns: Option<&[String; 2]>) -> Result<Vec<(u64, Option<String>, String)>> {
    if let Some([label, text]) = csv_columns {
        let table = crate::tabular::read_table(path, &TabularOptions { missing_values: Vec::new(), ..Default::default() })?;
        let body = table.column(text)?;
        let label = table.columns.iter().position(|c| c == label);
        return Ok(table
            .rows
            .into_iter()
            .map(|(line, row)| (line, label.and_then(|l| row[l].clone()).filter(|l| !l.trim().is_empty()), row[body].clone().unwrap_or_default()))
            .collect());
    }
    let bytes = crate::error::read_file(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::Table { path: path.to_path_buf(), reason: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()) })?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| match line.split_once('\t') {
            Some((label, body)) => (i as u64 + 1, Some(label.trim().to_string()).filter(|l| !l.is_empty()), body.to_string()),
            None => (i as u64 + 1, None, line.to_string()),
        })
        .collect())
}
