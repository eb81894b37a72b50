//! Turning the record formats users arrive with — a CSV table, a `label<TAB>text` file, a
//! `user,item,label[,timestamp]` file — into train/test [`Splits`] of typed inputs, with the preprocessing
//! fitted on the training records only and recorded as a [`Preprocessing`] for the bundle.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::interactions::{Interaction, read_interactions};
use crate::tabular::{CleaningReport, TabularOptions, TabularPrep, read_any, read_table, stratified_split};
use crate::text::{TextOptions, Vocab, read_labelled_csv, read_labelled_text, tokenize};
use crate::{Dataset, Error, Inputs, Result, Splits};

/// How raw records became model inputs, fitted on the training records; stored in the bundle so that
/// inference applies exactly the same transformation and every input traces back to its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preprocessing {
    /// A CSV table: the fitted column preparation and its feature names (first-layer input `i` is
    /// `feature_names[i]`), and what cleaning did on each side.
    Tabular {
        /// Fitted preparation.
        prep: TabularPrep,
        /// One name per input feature.
        feature_names: Vec<String>,
        /// Rows dropped or imputed in the training file part.
        train_cleaning: CleaningReport,
        /// Rows dropped or imputed in the test part.
        test_cleaning: CleaningReport,
        /// Rows dropped or imputed in the validation part, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validation_cleaning: Option<Box<CleaningReport>>,
    },
    /// Text: normalisation and tokenisation, the vocabulary (id = position) and the padded length.
    Text {
        /// Normalisation and tokeniser.
        options: TextOptions,
        /// Token of each id (0 `<pad>`, 1 `<unk>`).
        vocab: Vec<String>,
        /// Tokens per item.
        max_len: usize,
    },
    /// Interactions: the original user and item names of each id, and the negatives drawn per positive.
    Interactions {
        /// User name of each user id.
        users: Vec<String>,
        /// Item name of each item id.
        items: Vec<String>,
        /// Unseen items drawn as label-0 interactions per positive.
        negatives: usize,
        /// Side-feature fields after user and item (user features first), in id order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        side_fields: Vec<SideField>,
    },
}

/// How interactions are split into training and test rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionSplit {
    /// A seeded random split of the rows.
    #[default]
    Random,
    /// Each user's latest interactions are tested (needs a timestamp column).
    Chronological,
}

/// Reads a table, CSV or Orange `.tab` ([`read_any`]), and an optional separate test table of the same
/// layout, splits it stratified by the target when there is no test table, holds out the validation rows
/// `held` names, fits the preparation on the remaining training rows and applies it to every side.
///
/// # Errors
///
/// Any [`read_any`] / [`TabularPrep`] error, naming file and line; [`Error::TableEmpty`] when a side has no
/// row left after cleaning.
pub fn load_tabular(path: &Path, test: Option<&PathBuf>, held: Held<'_>, options: &TabularOptions, test_fraction: f64, seed: u64) -> Result<Splits> {
    let (table, resolved) = read_any(path, options)?;
    let options = &resolved;
    // Split stratified by the target's raw values.
    let split = |table: crate::tabular::Table, fraction: f64, seed: u64| -> Result<(crate::tabular::Table, crate::tabular::Table)> {
        let target = table.column(&options.target)?;
        let classes: BTreeSet<Option<&String>> = table.rows.iter().map(|(_, r)| r[target].as_ref()).collect();
        let classes: Vec<Option<&String>> = classes.into_iter().collect();
        let keys: Vec<usize> = table.rows.iter().map(|(_, r)| classes.binary_search(&r[target].as_ref()).unwrap_or(0)).collect();
        let (kept, held) = stratified_split(&keys, fraction, seed);
        let part = |rows: &[usize]| crate::tabular::Table {
            path: table.path.clone(),
            columns: table.columns.clone(),
            rows: rows.iter().map(|&i| table.rows[i].clone()).collect(),
        };
        Ok((part(&kept), part(&held)))
    };
    let (train_table, test_table) = match test {
        Some(t) => (table, read_any(t, options)?.0),
        None => split(table, test_fraction, seed)?,
    };
    let (train_table, validation_table) = match held {
        Held::None => (train_table, None),
        Held::File(v) => (train_table, Some(read_any(v, options)?.0)),
        Held::Fraction { fraction, seed } => {
            let (train, validation) = split(train_table, fraction, seed)?;
            (train, Some(validation))
        }
    };
    let prep = TabularPrep::fit(&train_table, options)?;
    let feature_names = prep.feature_names();
    let name = path.file_stem().map_or("table".into(), |s| s.to_string_lossy().into_owned());
    let dataset = |side: &str, table: &crate::tabular::Table| -> Result<(Dataset, CleaningReport)> {
        let prepared = prep.transform(table, options)?;
        if prepared.labels.is_empty() {
            return Err(Error::TableEmpty(table.path.clone()));
        }
        let inputs = Inputs::Dense { shape: vec![feature_names.len()], values: prepared.features };
        Ok((Dataset::with_inputs(format!("{name}/{side}"), inputs, prep.classes.clone(), prepared.labels)?, prepared.cleaning))
    };
    let (train, train_cleaning) = dataset("train", &train_table)?;
    let (test, test_cleaning) = dataset("test", &test_table)?;
    let (validation, validation_cleaning) = validation_table.map(|t| dataset("validation", &t).map(|(d, c)| (d, Box::new(c)))).transpose()?.unzip();
    let preprocessing = Preprocessing::Tabular { prep, feature_names, train_cleaning, test_cleaning, validation_cleaning };
    Ok(Splits { train, test, validation, preprocessing: Some(preprocessing) })
}

/// Where a loader's validation records come from. They are held out before anything is fitted (a table's
/// imputation, scaling and one-hot maps, a text vocabulary), which then never sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Held<'a> {
    /// No validation split.
    None,
    /// A separate file of the training file's layout.
    File(&'a Path),
    /// This fraction of the training records, stratified by label, drawn from `seed`.
    Fraction {
        /// The fraction, in (0, 1).
        fraction: f64,
        /// The split's seed.
        seed: u64,
    },
}

/// Text settings beyond tokenisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextSource {
    /// Normalisation and tokeniser.
    pub options: TextOptions,
    /// Tokens per item (longer texts are truncated, shorter ones padded).
    pub max_len: usize,
    /// Tokens seen fewer times in training become `<unk>`.
    pub min_freq: usize,
    /// Keep at most this many tokens (most frequent first), besides `<pad>` and `<unk>`.
    pub max_vocab: Option<usize>,
    /// Read CSV files with a header instead of `label<TAB>text` lines: the label and text column names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv_columns: Option<[String; 2]>,
}

impl Default for TextSource {
    fn default() -> Self {
        Self { options: TextOptions::default(), max_len: 64, min_freq: 1, max_vocab: Some(50_000), csv_columns: None }
    }
}

/// Reads a `label<TAB>text` file or a CSV file with label and text columns (and an optional test file), splits
/// it stratified by label when there is no test file, holds out the validation texts `held` names, tokenises
/// every text in parallel, fits the vocabulary on the remaining training texts and pads/truncates.
///
/// # Errors
///
/// Any [`read_labelled_text`] error; [`Error::TableRow`] naming file and line of a test label not seen in
/// training; [`Error::Empty`] for a side without texts.
pub fn load_text(path: &Path, test: Option<&PathBuf>, held: Held<'_>, source: &TextSource, test_fraction: f64, seed: u64) -> Result<Splits> {
    let read = |file: &Path| match &source.csv_columns {
        Some([label, text]) => read_labelled_csv(file, label, text),
        None => read_labelled_text(file),
    };
    let records = read(path)?;
    let classes: Vec<String> = records.iter().map(|r| r.label.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let label_of = |file: &Path, r: &crate::text::LabelledText| {
        classes.binary_search(&r.label).map_err(|_| Error::TableRow {
            path: file.to_path_buf(),
            line: r.line,
            reason: format!("label `{}` does not occur in the training file", r.label),
        })
    };
    let split = |records: Vec<crate::text::LabelledText>, fraction: f64, seed: u64| -> Result<(Vec<_>, Vec<_>)> {
        let labels: Vec<usize> = records.iter().map(|r| label_of(path, r)).collect::<Result<_>>()?;
        let (kept, held) = stratified_split(&labels, fraction, seed);
        let pick = |rows: Vec<usize>| rows.into_iter().map(|i| records[i].clone()).collect::<Vec<_>>();
        Ok((pick(kept), pick(held)))
    };
    let (train, test, test_path) = match test {
        Some(t) => (records, read(t)?, t.clone()),
        None => {
            let (train, test) = split(records, test_fraction, seed)?;
            (train, test, path.to_path_buf())
        }
    };
    let (train, validation) = match held {
        Held::None => (train, None),
        Held::File(v) => (train, Some((read(v)?, v.to_path_buf()))),
        Held::Fraction { fraction, seed } => {
            let (train, validation) = split(train, fraction, seed)?;
            (train, Some((validation, path.to_path_buf())))
        }
    };
    let tokens = |records: &[crate::text::LabelledText]| -> Vec<Vec<String>> { records.par_iter().map(|r| tokenize(&r.text, &source.options)).collect() };
    let (train_tokens, test_tokens) = (tokens(&train), tokens(&test));
    let vocab = Vocab::fit(&train_tokens, source.min_freq, source.max_vocab);
    let name = path.file_stem().map_or("text".into(), |s| s.to_string_lossy().into_owned());
    let dataset = |side: &str, file: &Path, records: &[crate::text::LabelledText], docs: &[Vec<String>]| -> Result<Dataset> {
        if records.is_empty() {
            return Err(Error::Empty(format!("{name}/{side}")));
        }
        let labels = records.iter().map(|r| label_of(file, r)).collect::<Result<Vec<_>>>()?;
        let mut ids = Vec::with_capacity(docs.len() * source.max_len);
        for doc in docs {
            ids.extend(vocab.encode(doc, source.max_len));
        }
        let inputs = Inputs::Tokens { len: source.max_len, vocab: vocab.len(), ids };
        Dataset::with_inputs(format!("{name}/{side}"), inputs, classes.clone(), labels)
    };
    let train_set = dataset("train", path, &train, &train_tokens)?;
    let test_set = dataset("test", &test_path, &test, &test_tokens)?;
    let validation = validation.map(|(records, file)| dataset("validation", &file, &records, &tokens(&records))).transpose()?;
    let preprocessing = Preprocessing::Text { options: source.options.clone(), vocab: vocab.tokens.clone(), max_len: source.max_len };
    Ok(Splits { train: train_set, test: test_set, validation, preprocessing: Some(preprocessing) })
}

/// A categorical side feature of users or items, as a field of the model's ids: id 0 is "unknown" (an
/// entity the side file does not list, or a missing value), id `k + 1` is `categories[k]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideField {
    /// The side file.
    pub file: PathBuf,
    /// Its column.
    pub column: String,
    /// The categories seen, sorted.
    pub categories: Vec<String>,
    /// Whose feature it is; `None` in bundles written before OWM recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<SideOf>,
    /// Each user's (or item's) id in this field, by user (item) id: what prediction reads for a pair; empty in
    /// bundles written before OWM recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<u32>,
}

/// Whether a side feature describes users or items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideOf {
    /// A feature of users.
    User,
    /// A feature of items.
    Item,
}

/// Reads a side-feature CSV (header; the first column names the user or item, every other column is a
/// category) for entities `names`: the fields, and each field's id per entity.
fn read_side(path: &Path, names: &[String], of: SideOf) -> Result<Vec<SideField>> {
    let table = if ["user", "item"].iter().any(|e| crate::recbole::is_atomic(path, e)) {
        // A RecBole `.user` / `.item` file: its id column, then every other single-token column.
        let atomic = crate::recbole::read_atomic(path)?;
        let keep: Vec<usize> = (0..atomic.columns.len()).filter(|&c| c == 0 || atomic.columns[c].1 == crate::recbole::AtomicType::Token).collect();
        crate::tabular::Table {
            path: path.to_path_buf(),
            columns: keep.iter().map(|&c| atomic.columns[c].0.clone()).collect(),
            rows: atomic.rows.into_iter().map(|(line, f)| (line, keep.iter().map(|&c| Some(f[c].clone()).filter(|v| !v.is_empty())).collect())).collect(),
        }
    } else {
        read_table(path, &TabularOptions::default())?
    };
    let mut row_of = std::collections::BTreeMap::new();
    for (i, (line, row)) in table.rows.iter().enumerate() {
        let key = row[0].clone().ok_or_else(|| Error::TableRow { path: path.to_path_buf(), line: *line, reason: "no name in the first column".into() })?;
        if row_of.insert(key.clone(), i).is_some() {
            return Err(Error::TableRow { path: path.to_path_buf(), line: *line, reason: format!("`{key}` is listed twice") });
        }
    }
    let mut fields = Vec::new();
    for (c, column) in table.columns.iter().enumerate().skip(1) {
        let categories: Vec<String> = table.rows.iter().filter_map(|(_, r)| r[c].clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let ids = names
            .iter()
            .map(|n| {
                let value = row_of.get(n).and_then(|&i| table.rows[i].1[c].as_ref());
                value.and_then(|v| categories.binary_search(v).ok()).map_or(0, |k| k as u32 + 1)
            })
            .collect();
        fields.push(SideField { file: path.to_path_buf(), column: column.clone(), categories, of: Some(of), ids });
    }
    Ok(fields)
}

/// How interactions become training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionOptions {
    /// Random or chronological split.
    #[serde(default)]
    pub split: InteractionSplit,
    /// Unseen items drawn as non-clicks per click (default 4).
    #[serde(default = "default_negatives")]
    pub negatives: usize,
    /// Side features of users (CSV: user, then one column per feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_features: Option<PathBuf>,
    /// Side features of items (CSV: item, then one column per feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_features: Option<PathBuf>,
    /// Ratings instead of clicks: a label at or above this is a click, any other rated row an explicit
    /// non-click (MovieLens as click-through: 4). Default: a label above 0 is a click.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click_threshold: Option<f32>,
}

fn default_negatives() -> usize {
    4
}

impl Default for InteractionOptions {
    fn default() -> Self {
        Self { split: InteractionSplit::Random, negatives: default_negatives(), user_features: None, item_features: None, click_threshold: None }
    }
}

/// Reads a `user,item,label[,timestamp]` file (or a RecBole `.inter` file; side features from CSV or RecBole
/// `.user` / `.item` files), turns ratings into clicks at `click_threshold`, splits the rows (holding out, after a
/// chronological split, each user's latest `held` fraction of training rows for validation), adds `negatives`
/// unseen items per positive on each side (seeded), and gives a binary click task over `[user, item, side
/// features...]` ids grouped by user.
///
/// # Errors
///
/// Any [`read_interactions`] or side-file error naming file and line; [`Error::Empty`] for a side without rows.
pub fn load_interactions(path: &Path, held: Held<'_>, options: &InteractionOptions, test_fraction: f64, seed: u64) -> Result<Splits> {
    let mut data = read_interactions(path)?;
    if let Some(t) = options.click_threshold {
        for r in &mut data.rows {
            r.label = if r.label >= t { 1.0 } else { 0.0 };
        }
    }
    let (train, test) = match options.split {
        InteractionSplit::Random => data.random_split(test_fraction, seed),
        InteractionSplit::Chronological => data.chronological_split(test_fraction, path)?,
    };
    // A chronological split validates on each user's latest training rows too, so early stopping never
    // watches the past while training on the future; a random split leaves its validation rows to
    // `DataConfig::load` (stratified). There is no validation file of interactions.
    let (train, validation) = match (held, options.split) {
        (Held::Fraction { fraction, .. }, InteractionSplit::Chronological) => {
            let (train, validation) = data.latest(&train, fraction, path)?;
            (train, Some(validation))
        }
        _ => (train, None),
    };
    let user_fields = options.user_features.as_ref().map(|f| read_side(f, &data.users, SideOf::User)).transpose()?.unwrap_or_default();
    let item_fields = options.item_features.as_ref().map(|f| read_side(f, &data.items, SideOf::Item)).transpose()?.unwrap_or_default();
    // The user's side fields, then the item's, after the pair.
    let side_fields: Vec<SideField> = user_fields.into_iter().chain(item_fields).collect();
    let mut cardinalities = vec![data.users.len(), data.items.len()];
    cardinalities.extend(side_fields.iter().map(|f| f.categories.len() + 1));
    let name = path.file_stem().map_or("interactions".into(), |s| s.to_string_lossy().into_owned());
    let dataset = |side: &str, rows: &[usize]| -> Result<Dataset> {
        let drawn = data.negatives_of(rows, options.negatives, seed, &format!("negatives/{side}"));
        let all: Vec<&Interaction> = rows.iter().map(|&i| &data.rows[i]).chain(&drawn).collect();
        if all.is_empty() {
            return Err(Error::Empty(format!("{name}/{side}")));
        }
        let mut ids = Vec::with_capacity(all.len() * cardinalities.len());
        for r in &all {
            ids.extend([r.user as u32, r.item as u32]);
            ids.extend(side_fields.iter().map(|f| f.ids[if f.of == Some(SideOf::User) { r.user } else { r.item }]));
        }
        let labels = all.iter().map(|r| usize::from(r.label > 0.0)).collect();
        let groups = all.iter().map(|r| r.user as u32).collect();
        let inputs = Inputs::Ids { cardinalities: cardinalities.clone(), ids };
        Dataset::with_inputs(format!("{name}/{side}"), inputs, vec!["no".into(), "yes".into()], labels)?.binary()?.with_groups(groups)
    };
    let validation = validation.map(|v| dataset("validation", &v)).transpose()?;
    let (train, test) = (dataset("train", &train)?, dataset("test", &test)?);
    let preprocessing = Preprocessing::Interactions { users: data.users.clone(), items: data.items.clone(), negatives: options.negatives, side_fields };
    Ok(Splits { train, test, validation, preprocessing: Some(preprocessing) })
}
