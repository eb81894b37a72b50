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
    ///   training vocabulary, unknown tokens as `<unk>`;
    /// - interactions `user,item[,label[,timestamp]]`, for a model without side features; a user or item
    ///   training never saw is refused.
    ///
    /// # Errors
    ///
    /// Reading errors naming file and line; [`Error::Table`] naming a column training did not read;
    /// [`Error::TableColumn`] for a column training read that the file lacks; [`Error::TableEmpty`] for no
    /// record; [`Error::TableRow`] naming the line of a user or item training never saw;
    /// [`Error::Unpredictable`] for interactions with side features, and for a `source` of another kind than
    /// this preprocessing.
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
            (Preprocessing::Interactions { users, items, side_fields, .. }, DataSource::Interactions { options, .. }) => {
                if !side_fields.is_empty() {
                    return Err(Error::Unpredictable("the bundle does not record each user's and item's side features, which its model reads".into()));
                }
                read_pairs(path, users, items, options.click_threshold)?
            }
            _ => return Err(Error::Unpredictable("the recorded preprocessing and data source are of different kinds".into())),
        };
        if records.is_empty() {
            return Err(Error::TableEmpty(path.to_path_buf()));
        }
        Ok(records)
    }
}

/// `user,item[,label[,timestamp]]` rows (a first row whose label is not a number, or whose user and item
/// training never saw, is a header) as the model's `[user, item]` ids; a known label is `yes` or `no` as
/// training read it (at or above `click_threshold`, or above 0). A user or item training never saw has no row
/// in the model's tables: the record is refused.
fn read_pairs(path: &Path, users: &[String], items: &[String], click_threshold: Option<f32>) -> Result<Records> {
    let index = |names: &[String]| names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect::<BTreeMap<_, _>>();
    let (user_ids, item_ids) = (index(users), index(items));
    let row_err = |line: u64, reason: String| Error::TableRow { path: path.to_path_buf(), line, reason };
    let (mut lines, mut pairs, mut known) = (Vec::new(), Vec::new(), Vec::new());
    for (n, (line, fields)) in crate::interactions::csv_rows(path)?.into_iter().enumerate() {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        if !(2..=4).contains(&fields.len()) {
            return Err(row_err(line, format!("{} fields; expected user,item[,label[,timestamp]]", fields.len())));
        }
        let label = fields.get(2).map(|l| l.parse::<f32>().ok().filter(|v| v.is_finite()));
        let (user, item) = (user_ids.get(fields[0]), item_ids.get(fields[1]));
        if n == 0 && (matches!(label, Some(None)) || (user.is_none() && item.is_none())) {
            continue;
        }
        let label = label.map(|l| l.ok_or_else(|| row_err(line, format!("label `{}` is not a number", fields[2])))).transpose()?;
        let unseen = |what: &str, name: &str| row_err(line, format!("{what} `{name}` did not occur in training, so the model has no row for it"));
        pairs.extend([*user.ok_or_else(|| unseen("user", fields[0]))?, *item.ok_or_else(|| unseen("item", fields[1]))?]);
        let clicked = |v: f32| click_threshold.map_or(v > 0.0, |t| v >= t);
        known.push(label.map(|v| if clicked(v) { "yes" } else { "no" }.to_string()));
        lines.push(line.to_string());
    }
    let inputs = Inputs::Ids { cardinalities: vec![users.len(), items.len()], ids: pairs };
    Ok(Records { ids: lines, inputs, known, imputed: BTreeMap::new() })
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
