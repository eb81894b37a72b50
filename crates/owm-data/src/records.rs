//! Records to predict on: raw files in the layouts training reads, prepared exactly as a bundle's training
//! data was, by the preprocessing it recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sources::{SideField, SideOf};
use crate::tabular::{ColumnPrep, Table, TabularOptions, read_any};
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

/// Raw records in memory, before preparation: what a file holds, or what a request sent.
#[derive(Debug, Clone, PartialEq)]
pub enum RawRecords {
    /// A table (the training columns, the target column optional) and the options it was read with.
    Table {
        /// The rows.
        table: Table,
        /// How its values are read (missing-value markers, target map).
        options: TabularOptions,
    },
    /// Texts.
    Texts(Vec<RawText>),
    /// User-item pairs by name.
    Pairs {
        /// Where they came from, named in errors.
        origin: PathBuf,
        /// The pairs.
        pairs: Vec<RawPair>,
    },
}

/// One raw text.
#[derive(Debug, Clone, PartialEq)]
pub struct RawText {
    /// Its 1-based line (or row).
    pub line: u64,
    /// Its class as its source gives it.
    pub known: Option<String>,
    /// The text.
    pub text: String,
}

/// One raw user-item pair.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPair {
    /// Its 1-based line (or row).
    pub line: u64,
    /// The user's name.
    pub user: String,
    /// The item's name.
    pub item: String,
    /// The label its source gives (a rating or a click).
    pub label: Option<f32>,
}

/// What a model's raw records hold: one named field per input column, in order ([`Preprocessing::signature`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawField {
    /// The column name (`text` for texts; `user` and `item` for interactions).
    pub name: String,
    /// Whether its values are numbers (otherwise strings: categories, texts, names).
    pub numeric: bool,
}

/// A bundle's recorded preprocessing made ready to prepare raw records many times (a server's every request):
/// the vocabulary's index and the user and item names' indexes are built once, here, not per batch (indexing a
/// 427,000-token vocabulary took 119 ms in the unoptimised test build).
#[derive(Debug, Clone)]
pub struct Preparer {
    preprocessing: Preprocessing,
    source: DataSource,
    index: Index,
}

/// What looks tokens and names up.
#[derive(Debug, Clone)]
enum Index {
    None,
    Vocab(Vocab),
    Names { users: BTreeMap<String, u32>, items: BTreeMap<String, u32> },
}

impl Preparer {
    /// Makes `preprocessing`, fitted on the training data of `source`, ready to prepare records.
    pub fn new(preprocessing: Preprocessing, source: DataSource) -> Self {
        let names = |names: &[String]| names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        let index = match &preprocessing {
            Preprocessing::Tabular { .. } => Index::None,
            Preprocessing::Text { vocab, .. } => Index::Vocab(Vocab::from_tokens(vocab.clone())),
            Preprocessing::Interactions { users, items, .. } => Index::Names { users: names(users), items: names(items) },
        };
        Self { preprocessing, source, index }
    }

    /// The preprocessing.
    pub fn preprocessing(&self) -> &Preprocessing {
        &self.preprocessing
    }

    /// The training data's source, whose options say how raw records are read (a table's missing-value
    /// markers, a text file's columns).
    pub fn source(&self) -> &DataSource {
        &self.source
    }

    /// Reads the records in `path` and prepares them ([`Preprocessing::read_raw`], then
    /// [`Preparer::prepare`]).
    ///
    /// # Errors
    ///
    /// As those two; [`Error::TableEmpty`] for no record.
    pub fn records(&self, path: &Path) -> Result<Records> {
        let records = self.prepare(self.preprocessing.read_raw(&self.source, path)?)?;
        if records.is_empty() {
            return Err(Error::TableEmpty(path.to_path_buf()));
        }
        Ok(records)
    }

    /// Prepares records from named columns of raw values, as a request sends them
    /// ([`Preprocessing::raw_records`], then [`Preparer::prepare`]; `origin` names them in errors).
    ///
    /// # Errors
    ///
    /// As those two.
    pub fn columns(&self, origin: &Path, columns: Vec<(String, Vec<Option<String>>)>) -> Result<Records> {
        self.prepare(self.preprocessing.raw_records(&self.source, origin, columns)?)
    }

    /// Prepares `raw` as the preprocessing prepared the training data:
    /// - a table's training columns must all be there, the target column is optional
    ///   ([`TabularPrep::records`](crate::tabular::TabularPrep::records));
    /// - texts are tokenised and encoded with the training vocabulary, unknown tokens as `<unk>`;
    /// - pairs become the model's ids, followed by the user's and the item's side-feature ids as training
    ///   recorded them; a user or item training never saw is refused; a known label is `yes` or `no` as
    ///   training read it (at or above the click threshold, or above 0).
    ///
    /// # Errors
    ///
    /// [`Error::Table`] naming a column training did not read; [`Error::TableColumn`] for a column training
    /// read that the table lacks; [`Error::TableRow`] naming the line of a value that does not fit, or of a user
    /// or item training never saw; [`Error::Unpredictable`] for side features a bundle did not record per user
    /// and item (bundles written before OWM recorded them), and for raw records or a source of another kind
    /// than the preprocessing.
    pub fn prepare(&self, raw: RawRecords) -> Result<Records> {
        Ok(match (&self.preprocessing, &self.source, &self.index, raw) {
            (Preprocessing::Tabular { prep, .. }, DataSource::Tabular { .. }, _, RawRecords::Table { table, options }) => {
                let r = prep.records(&table, &options)?;
                let features = prep.feature_names().len();
                Records {
                    ids: r.lines.iter().map(u64::to_string).collect(),
                    inputs: Inputs::Dense { shape: vec![features], values: r.features },
                    known: r.known,
                    imputed: r.imputed,
                }
            }
            (Preprocessing::Text { options, max_len, .. }, DataSource::Text { .. }, Index::Vocab(vocab), RawRecords::Texts(texts)) => {
                let mut tokens = Vec::with_capacity(texts.len() * max_len);
                for t in &texts {
                    tokens.extend(vocab.encode(&tokenize(&t.text, options), *max_len));
                }
                let (ids, known) = texts.into_iter().map(|t| (t.line.to_string(), t.known)).unzip();
                Records { ids, inputs: Inputs::Tokens { len: *max_len, vocab: vocab.len(), ids: tokens }, known, imputed: BTreeMap::new() }
            }
            (
                Preprocessing::Interactions { users, items, side_fields, .. },
                DataSource::Interactions { options, .. },
                Index::Names { users: user_ids, items: item_ids },
                RawRecords::Pairs { origin, pairs },
            ) => {
                let recorded = |f: &SideField| match f.of {
                    Some(SideOf::User) => f.ids.len() == users.len(),
                    Some(SideOf::Item) => f.ids.len() == items.len(),
                    None => false,
                };
                if !side_fields.iter().all(recorded) {
                    return Err(Error::Unpredictable("the bundle does not record each user's and item's side features, which its model reads".into()));
                }
                encode_pairs(&origin, &pairs, [user_ids, item_ids], [users.len(), items.len()], side_fields, options.click_threshold)?
            }
            _ => return Err(kinds_differ()),
        })
    }
}

impl Preprocessing {
    /// Reads the raw records in `path`, in the layouts training reads:
    /// - a table (CSV or Orange `.tab`, read with the training options);
    /// - texts: lines `label<TAB>text` or just `text` (a line's first tab ends its label), or CSV rows with
    ///   the text column, the label column optional;
    /// - interactions `user,item[,label[,timestamp]]` (a first row whose label is not a number, or whose user
    ///   and item training never saw, is a header).
    ///
    /// # Errors
    ///
    /// Reading errors naming file and line; [`Error::Unpredictable`] for a `source` of another kind than this
    /// preprocessing.
    pub fn read_raw(&self, source: &DataSource, path: &Path) -> Result<RawRecords> {
        Ok(match (self, source) {
            (Preprocessing::Tabular { .. }, DataSource::Tabular { options, .. }) => {
                let (table, options) = read_any(path, options)?;
                RawRecords::Table { table, options }
            }
            (Preprocessing::Text { .. }, DataSource::Text { text, .. }) => RawRecords::Texts(read_texts(path, text.csv_columns.as_ref())?),
            (Preprocessing::Interactions { users, items, .. }, DataSource::Interactions { .. }) => {
                RawRecords::Pairs { origin: path.to_path_buf(), pairs: read_pairs(path, users, items)? }
            }
            _ => return Err(kinds_differ()),
        })
    }

    /// The fields of a raw record, in order: a table's training columns (numbers or categories), `text`, or
    /// `user` and `item`.
    pub fn signature(&self) -> Vec<RawField> {
        let field = |name: &str, numeric| RawField { name: name.to_string(), numeric };
        match self {
            Preprocessing::Tabular { prep, .. } => prep
                .columns
                .iter()
                .map(|c| match c {
                    ColumnPrep::Numeric { name, .. } => field(name, true),
                    ColumnPrep::Categorical { name, .. } => field(name, false),
                })
                .collect(),
            Preprocessing::Text { .. } => vec![field("text", false)],
            Preprocessing::Interactions { .. } => vec![field("user", false), field("item", false)],
        }
    }

    /// Raw records from named columns of equal length (`None`: missing), as a request sends them: a table's
    /// columns (values equal to one of the training missing-value markers are missing too), `text` (with an
    /// optional `label`), or `user` and `item` (with an optional numeric `label`). Row `r` is named line `r + 1`
    /// of `origin` in errors.
    ///
    /// # Errors
    ///
    /// [`Error::TableColumn`] for a field of [`Preprocessing::signature`] that is not given; [`Error::Table`]
    /// for columns of different lengths, a repeated or unknown column (texts, pairs); [`Error::TableRow`] for a
    /// missing text, user or item, or a label that is not a number; [`Error::Unpredictable`] for a `source` of
    /// another kind than this preprocessing.
    pub fn raw_records(&self, source: &DataSource, origin: &Path, mut columns: Vec<(String, Vec<Option<String>>)>) -> Result<RawRecords> {
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let table_err = |reason: String| Error::Table { path: origin.to_path_buf(), reason };
        let rows = columns.first().map_or(0, |(_, v)| v.len());
        if let Some((name, v)) = columns.iter().find(|(_, v)| v.len() != rows) {
            return Err(table_err(format!("column `{name}` has {} values, column `{}` has {rows}", v.len(), names[0])));
        }
        if let Some(name) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)).map(|(_, n)| n) {
            return Err(table_err(format!("column `{name}` is given twice")));
        }
        if let (Preprocessing::Tabular { .. }, DataSource::Tabular { options, .. }) = (self, source) {
            let marked = |v: Option<String>| v.filter(|v| !options.missing_values.iter().any(|m| m == v.trim()));
            let mut table_rows: Vec<(u64, crate::tabular::Row)> = (1..=rows as u64).map(|line| (line, Vec::with_capacity(columns.len()))).collect();
            for (_, values) in columns {
                for ((_, row), v) in table_rows.iter_mut().zip(values) {
                    row.push(marked(v));
                }
            }
            let mut table = Table { path: origin.to_path_buf(), columns: names, rows: table_rows };
            crate::tabular::map_target(&mut table, options);
            return Ok(RawRecords::Table { table, options: options.clone() });
        }
        let mut fields: Vec<String> = self.signature().into_iter().map(|f| f.name).collect();
        fields.push("label".into());
        if let Some(unknown) = names.iter().find(|n| !fields.contains(n)) {
            return Err(table_err(format!("column `{unknown}` is not one of {}", fields.join(", "))));
        }
        let mut take = |name: &str| columns.iter_mut().find(|(n, _)| n == name).map(|(_, v)| std::mem::take(v));
        let required = |name: &str, values: Option<Vec<Option<String>>>| {
            let values = values.ok_or_else(|| Error::TableColumn { path: origin.to_path_buf(), column: name.into(), columns: names.join(", ") })?;
            values
                .into_iter()
                .enumerate()
                .map(|(r, v)| v.ok_or_else(|| Error::TableRow { path: origin.to_path_buf(), line: r as u64 + 1, reason: format!("no `{name}`") }))
                .collect::<Result<Vec<String>>>()
        };
        Ok(match (self, source) {
            (Preprocessing::Text { .. }, DataSource::Text { .. }) => {
                let texts = required("text", take("text"))?;
                let labels = take("label").unwrap_or_else(|| vec![None; rows]);
                RawRecords::Texts(texts.into_iter().zip(labels).zip(1..).map(|((text, known), line)| RawText { line, known, text }).collect())
            }
            (Preprocessing::Interactions { .. }, DataSource::Interactions { .. }) => {
                let (users, items) = (required("user", take("user"))?, required("item", take("item"))?);
                let labels = take("label").unwrap_or_else(|| vec![None; rows]);
                let pairs = users
                    .into_iter()
                    .zip(items)
                    .zip(labels)
                    .zip(1..)
                    .map(|(((user, item), label), line)| {
                        let label = label
                            .map(|l| {
                                l.trim().parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| Error::TableRow {
                                    path: origin.to_path_buf(),
                                    line,
                                    reason: format!("label `{l}` is not a number"),
                                })
                            })
                            .transpose()?;
                        Ok(RawPair { line, user, item, label })
                    })
                    .collect::<Result<_>>()?;
                RawRecords::Pairs { origin: origin.to_path_buf(), pairs }
            }
            _ => return Err(kinds_differ()),
        })
    }
}

fn kinds_differ() -> Error {
    Error::Unpredictable("the recorded preprocessing, the data source and the records are not all of one kind".into())
}

/// `user,item[,label[,timestamp]]` rows; a first row whose label is not a number, or whose user and item
/// training never saw, is a header.
fn read_pairs(path: &Path, users: &[String], items: &[String]) -> Result<Vec<RawPair>> {
    let row_err = |line: u64, reason: String| Error::TableRow { path: path.to_path_buf(), line, reason };
    let mut pairs = Vec::new();
    for (n, (line, fields)) in crate::interactions::csv_rows(path)?.into_iter().enumerate() {
        if !(2..=4).contains(&fields.len()) {
            return Err(row_err(line, format!("{} fields; expected user,item[,label[,timestamp]]", fields.len())));
        }
        let label = fields.get(2).map(|l| l.parse::<f32>().ok().filter(|v| v.is_finite()));
        if n == 0 && (matches!(label, Some(None)) || (!users.contains(&fields[0]) && !items.contains(&fields[1]))) {
            continue;
        }
        let label = label.map(|l| l.ok_or_else(|| row_err(line, format!("label `{}` is not a number", fields[2])))).transpose()?;
        let mut fields = fields.into_iter();
        let (user, item) = (fields.next().unwrap_or_default(), fields.next().unwrap_or_default());
        pairs.push(RawPair { line, user, item, label });
    }
    Ok(pairs)
}

/// `pairs` (from `origin`) as the model's `[user, item]` ids (`names`: the id of each user's and item's name;
/// `cardinalities`: how many of each); a known label is `yes` or `no` as training read it (at or above
/// `click_threshold`, or above 0). A user or item training never saw has no row in the model's tables: the
/// record is refused.
fn encode_pairs(
    origin: &Path,
    pairs: &[RawPair],
    names: [&BTreeMap<String, u32>; 2],
    counts: [usize; 2],
    side_fields: &[SideField],
    click_threshold: Option<f32>,
) -> Result<Records> {
    let (mut lines, mut ids, mut known) = (Vec::new(), Vec::new(), Vec::new());
    for p in pairs {
        let unseen = |what: &str, name: &str| Error::TableRow {
            path: origin.to_path_buf(),
            line: p.line,
            reason: format!("{what} `{name}` did not occur in training, so the model has no row for it"),
        };
        let (user, item) = (*names[0].get(&p.user).ok_or_else(|| unseen("user", &p.user))?, *names[1].get(&p.item).ok_or_else(|| unseen("item", &p.item))?);
        ids.extend([user, item]);
        // Side features after the pair, as training laid them out: the user's fields first, then the item's.
        ids.extend(side_fields.iter().map(|f| f.ids[if f.of == Some(SideOf::User) { user } else { item } as usize]));
        let clicked = |v: f32| click_threshold.map_or(v > 0.0, |t| v >= t);
        known.push(p.label.map(|v| if clicked(v) { "yes" } else { "no" }.to_string()));
        lines.push(p.line.to_string());
    }
    let cardinalities = counts.into_iter().chain(side_fields.iter().map(|f| f.categories.len() + 1)).collect();
    Ok(Records { ids: lines, inputs: Inputs::Ids { cardinalities, ids }, known, imputed: BTreeMap::new() })
}

/// `(line, label, text)` of every record of a text file: `label<TAB>text` or `text` lines (blank lines
/// skipped), or, with `csv_columns` (label, text), CSV rows whose label column is optional.
fn read_texts(path: &Path, csv_columns: Option<&[String; 2]>) -> Result<Vec<RawText>> {
    if let Some([label, text]) = csv_columns {
        let table = crate::tabular::read_table(path, &TabularOptions { missing_values: Vec::new(), ..Default::default() })?;
        let body = table.column(text)?;
        let label = table.columns.iter().position(|c| c == label);
        return Ok(table
            .rows
            .into_iter()
            .map(|(line, row)| RawText {
                line,
                known: label.and_then(|l| row[l].clone()).filter(|l| !l.trim().is_empty()),
                text: row[body].clone().unwrap_or_default(),
            })
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
            Some((label, body)) => RawText { line: i as u64 + 1, known: Some(label.trim().to_string()).filter(|l| !l.is_empty()), text: body.to_string() },
            None => RawText { line: i as u64 + 1, known: None, text: line.to_string() },
        })
        .collect())
}
