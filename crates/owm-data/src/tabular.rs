//! Tabular data, CSV or Orange's `.tab`: reading with line-numbered errors, schema inference with overrides, cleaning (missing
//! values dropped or imputed, duplicate rows), normalisation and encoding fitted on the training rows and
//! serialisable, so that each feature traces back to its input column.
//!
//! Nothing is dropped silently: every dropped row is listed, by line, in the [`CleaningReport`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::orange::{OrangeTable, read_orange};
use crate::{Error, Result};

/// How a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers.
    Numeric,
    /// Categories (strings).
    Categorical,
}

/// What to do with a row that has a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Drop the row (listed in the cleaning report).
    Drop,
    /// Fill numeric columns with the training mean, categorical ones with the mode.
    Mean,
    /// Fill numeric columns with the training median, categorical ones with the mode.
    Median,
}

/// How numeric columns are scaled (statistics from the training rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Unchanged.
    None,
    /// (x − mean) / std (population std; a constant column is only centred).
    Standard,
    /// (x − min) / (max − min).
    MinMax,
    /// (x − median) / IQR.
    Robust,
}

/// How categorical columns become numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One feature per training category; an unknown category at transform time gives all zeros.
    OneHot,
    /// The category's index among the sorted training categories; unknown ones give −1.
    Ordinal,
}

/// How to read and prepare a CSV file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TabularOptions {
    /// The target column.
    pub target: String,
    /// Field delimiter.
    pub delimiter: char,
    /// Whether the first line is a header (otherwise columns are named by `names`, or `c0`, `c1`, ...).
    pub header: bool,
    /// Column names of a file without a header (the UCI layouts).
    pub names: Vec<String>,
    /// Target values mapped to classes before anything else (`"2" → "disease"`); unmapped values stay.
    pub target_map: BTreeMap<String, String>,
    /// Values that mean "missing" (UCI files use `?`).
    pub missing_values: Vec<String>,
    /// Columns whose kind is not inferred.
    pub kinds: BTreeMap<String, ColumnKind>,
    /// Columns left out.
    pub ignore: Vec<String>,
    /// Rows with a missing value.
    pub missing: Missing,
    /// Drop exact duplicate rows (listed in the cleaning report).
    pub drop_duplicates: bool,
    /// Scaling of numeric columns.
    pub scaling: Scaling,
    /// Encoding of categorical columns.
    pub encoding: Encoding,
}

impl Default for TabularOptions {
    fn default() -> Self {
        Self {
            target: "target".into(),
            delimiter: ',',
            header: true,
            names: Vec::new(),
            target_map: BTreeMap::new(),
            missing_values: ["", "?", "NA", "NaN", "nan"].map(String::from).to_vec(),
            kinds: BTreeMap::new(),
            ignore: Vec::new(),
            missing: Missing::Median,
            drop_duplicates: false,
            scaling: Scaling::Standard,
            encoding: Encoding::OneHot,
        }
    }
}

/// One CSV row's fields (`None`: missing).
pub type Row = Vec<Option<String>>;

/// A CSV file as read: the header, and each row's line number and fields (`None`: missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file.
    pub path: PathBuf,
    /// Column names.
    pub columns: Vec<String>,
    /// `(line, fields)` per row.
    pub rows: Vec<(u64, Row)>,
}

impl Table {
    /// The index of column `name`.
    ///
    /// # Errors
    ///
    /// [`Error::TableColumn`] listing the columns there are.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| Error::TableColumn {
            path: self.path.clone(),
            column: name.into(),
            columns: self.columns.join(", "),
        })
    }
}

/// What cleaning did, by line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleaningReport {
    /// Lines dropped for a missing value (with [`Missing::Drop`], or a missing target).
    pub dropped_missing: Vec<u64>,
    /// Lines dropped as duplicates of an earlier row.
    pub dropped_duplicates: Vec<u64>,
    /// Missing values filled in, per column.
    pub imputed: BTreeMap<String, u64>,
}

/// Reads a CSV file; every row must have the header's number of fields.
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be read, [`Error::TableRow`] naming the line of a row with
/// the wrong number of fields or invalid UTF-8.
pub fn read_table(path: &Path, options: &TabularOptions) -> Result<Table> {
    let file_err = |reason: String| Error::Table { path: path.to_path_buf(), reason };
    let delimiter = u8::try_from(options.delimiter).map_err(|_| file_err(format!("delimiter `{}` is not one byte", options.delimiter)))?;
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(options.header).flexible(false).from_path(path).map_err(|e| file_err(e.to_string()))?;
    let row_err = |e: csv::Error| match e.position() {
        Some(p) => Error::TableRow { path: path.to_path_buf(), line: p.line(), reason: csv_reason(&e) },
        None => file_err(e.to_string()),
    };
    let mut columns: Vec<String> =
        if options.header { reader.headers().map_err(row_err)?.iter().map(|h| h.trim().to_string()).collect() } else { options.names.clone() };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(row_err)?;
        if columns.is_empty() {
            columns = (0..record.len()).map(|i| format!("c{i}")).collect();
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != columns.len() {
            let reason = format!("{} fields, {} columns are named", record.len(), columns.len());
            return Err(Error::TableRow { path: path.to_path_buf(), line, reason });
        }
        let fields: Row = record
            .iter()
            .map(|f| {
                let f = f.trim();
                (!options.missing_values.iter().any(|m| m == f)).then(|| f.to_string())
            })
            .collect();
        rows.push((line, fields));
    }
    let mut table = Table { path: path.to_path_buf(), columns, rows };
    map_target(&mut table, options);
    Ok(table)
}

/// Reads a table in the format its name says: Orange's `.tab` ([`read_orange`], with the kinds and class
/// its header declares filled into the options) or CSV ([`read_table`]); returns the table and the options
/// that apply to it.
///
/// # Errors
///
/// As [`read_orange`] or [`read_table`].
pub fn read_any(path: &Path, options: &TabularOptions) -> Result<(Table, TabularOptions)> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tab")) {
        let orange = read_orange(path, options)?;
        let resolved = orange.resolve(options);
        return Ok((orange.table, resolved));
    }
    Ok((read_table(path, options)?, options.clone()))
}

/// Applies `options.target_map` to the target column.
pub(crate) fn map_target(table: &mut Table, options: &TabularOptions) {
    if let Some(target) = table.columns.iter().position(|c| *c == options.target).filter(|_| !options.target_map.is_empty()) {
        for (_, row) in &mut table.rows {
            if let Some(class) = row[target].as_ref().and_then(|v| options.target_map.get(v)) {
                row[target] = Some(class.clone());
            }
        }
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("{len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

/// The fitted preparation of one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnPrep {
    /// A numeric column: the fill value and `(x − shift) / scale`.
    Numeric {
        /// Column name.
        name: String,
        /// Value used for a missing entry.
        fill: f64,
        /// Subtracted.
        shift: f64,
        /// Divided by.
        scale: f64,
    },
    /// A categorical column: its training categories, sorted, and the fill category.
    Categorical {
        /// Column name.
        name: String,
        /// Categories seen in training, sorted.
        categories: Vec<String>,
        /// Category used for a missing entry (the training mode).
        fill: String,
        /// How it is encoded.
        encoding: Encoding,
    },
}

/// Preprocessing fitted on training rows; serialisable into a bundle so that inference applies exactly the
/// same transformation, and every feature has a name naming its column (`age`, `sex=male`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularPrep {
    /// The target column.
    pub target: String,
    /// Target classes, sorted; a class's index is its label.
    pub classes: Vec<String>,
    /// Input columns in order.
    pub columns: Vec<ColumnPrep>,
    /// How rows with missing values are treated.
    pub missing: Missing,
}

/// Features and labels ready for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Row-major `[rows, features]`.
    pub features: Vec<f32>,
    /// Class index per row.
    pub labels: Vec<usize>,
    /// The line each row came from.
    pub lines: Vec<u64>,
    /// What cleaning did.
    pub cleaning: CleaningReport,
}

/// Records to predict on, as [`TabularPrep::records`] prepares them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TabularRecords {
    /// Row-major `[rows, features]`.
    pub features: Vec<f32>,
    /// The line each row came from.
    pub lines: Vec<u64>,
    /// Each row's target value, where the table has the target column and the row a value.
    pub known: Vec<Option<String>>,
    /// Missing values filled in, per column.
    pub imputed: BTreeMap<String, u64>,
}

impl TabularPrep {
    /// Fits the preprocessing on `table` (the training rows): kinds inferred (a column is numeric when every
    /// present value parses as a number) unless overridden, statistics and categories from the rows kept
    /// after cleaning.
    ///
    /// # Errors
    ///
    /// [`Error::TableColumn`] for a target, kind or ignore option naming no column; [`Error::TableEmpty`]
    /// when no row is left.
    pub fn fit(table: &Table, options: &TabularOptions) -> Result<Self> {
        let target = table.column(&options.target)?;
        for name in options.kinds.keys().chain(&options.ignore) {
            table.column(name)?;
        }
        let (rows, _) = clean(table, target, options);
        if rows.is_empty() {
            return Err(Error::TableEmpty(table.path.clone()));
        }
        let classes: BTreeSet<String> = rows.iter().filter_map(|(_, r)| r[target].clone()).collect();
        let mut columns = Vec::new();
        for (i, name) in table.columns.iter().enumerate() {
            if i == target || options.ignore.contains(name) {
                continue;
            }
            let present: Vec<&str> = rows.iter().filter_map(|(_, r)| r[i].as_deref()).collect();
            let numeric = present.iter().all(|v| v.parse::<f64>().is_ok_and(f64::is_finite));
            let kind = options.kinds.get(name).copied().unwrap_or(if numeric { ColumnKind::Numeric } else { ColumnKind::Categorical });
            columns.push(match kind {
                ColumnKind::Numeric => {
                    let mut values: Vec<f64> = present.iter().filter_map(|v| v.parse::<f64>().ok()).collect();
                    values.sort_by(f64::total_cmp);
                    numeric_prep(name, &values, options)
                }
                ColumnKind::Categorical => {
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for v in &present {
                        *counts.entry(v).or_default() += 1;
                    }
                    // The mode; ties go to the first category in sorted order.
                    let fill = counts.iter().fold(("", 0), |best, (c, n)| if *n > best.1 { (c, *n) } else { best }).0.to_string();
                    ColumnPrep::Categorical { name: name.clone(), categories: counts.keys().map(|c| c.to_string()).collect(), fill, encoding: options.encoding }
                }
            });
        }
        Ok(Self { target: options.target.clone(), classes: classes.into_iter().collect(), columns, missing: options.missing })
    }

    /// Feature names, in feature order: a numeric column's name, `column=category` per one-hot feature.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| match c {
                ColumnPrep::Numeric { name, .. } => vec![name.clone()],
                ColumnPrep::Categorical { name, categories, encoding: Encoding::OneHot, .. } => categories.iter().map(|k| format!("{name}={k}")).collect(),
                ColumnPrep::Categorical { name, encoding: Encoding::Ordinal, .. } => vec![name.clone()],
            })
            .collect()
    }

    /// Cleans and transforms `table` (training or test rows of the same layout).
    ///
    /// # Errors
    ///
    /// [`Error::TableColumn`] for a fitted column the table lacks; [`Error::TableRow`] naming the line and
    /// column of a value that is not a number in a numeric column, or of a target class not seen in training.
    pub fn transform(&self, table: &Table, options: &TabularOptions) -> Result<Prepared> {
        let target = table.column(&self.target)?;
        let indices = self.input_columns(table)?;
        let (rows, mut cleaning) = clean(table, target, options);
        let mut out = Prepared { features: Vec::new(), labels: Vec::new(), lines: Vec::new(), cleaning: CleaningReport::default() };
        for (line, row) in rows {
            let class = row[target].as_deref().unwrap_or_default();
            let label = self.classes.iter().position(|c| c == class).ok_or_else(|| Error::TableRow {
                path: table.path.clone(),
                line,
                reason: format!("target `{class}` is not one of the training classes {:?}", self.classes),
            })?;
            self.push_features(table, &indices, line, row, &mut cleaning.imputed, &mut out.features)?;
            out.labels.push(label);
            out.lines.push(line);
        }
        out.cleaning = cleaning;
        Ok(out)
    }

    /// The features of records to predict on (`table`, read as in training): every fitted input column must
    /// be there, and the target column may be (its values come back as each record's known class); a
    /// column training neither read nor ignored is refused. Every row gets features: a missing value takes its
    /// training fill whatever training's rule for missing values was, and an unseen category is encoded as in
    /// a test split (no one-hot feature set; ordinal −1).
    ///
    /// # Errors
    ///
    /// [`Error::TableColumn`] for a fitted column the table lacks; [`Error::Table`] naming a column training
    /// did not read; [`Error::TableRow`] naming the line and column of a value that is not a number in a
    /// numeric column.
    pub fn records(&self, table: &Table, options: &TabularOptions) -> Result<TabularRecords> {
        let indices = self.input_columns(table)?;
        let target = table.columns.iter().position(|c| *c == self.target);
        if let Some(new) = table.columns.iter().enumerate().find(|(i, c)| !indices.contains(i) && Some(*i) != target && !options.ignore.contains(c)) {
            let reason = format!("column `{}` was not among the training columns ({}, target `{}`)", new.1, self.input_names().join(", "), self.target);
            return Err(Error::Table { path: table.path.clone(), reason });
        }
        let mut out = TabularRecords::default();
        for (line, row) in &table.rows {
            self.push_features(table, &indices, *line, row, &mut out.imputed, &mut out.features)?;
            out.lines.push(*line);
            out.known.push(target.and_then(|t| row[t].clone()));
        }
        Ok(out)
    }

    fn input_names(&self) -> Vec<&str> {
        self.columns
            .iter()
            .map(|c| match c {
                ColumnPrep::Numeric { name, .. } | ColumnPrep::Categorical { name, .. } => name.as_str(),
            })
            .collect()
    }

    /// The position in `table` of each fitted input column.
    fn input_columns(&self, table: &Table) -> Result<Vec<usize>> {
        self.input_names().into_iter().map(|name| table.column(name)).collect()
    }

    /// Appends the features of `row` (line `line` of `table`; its input columns at `indices`) to `out`, a
    /// missing value filled from training and counted in `imputed`.
    fn push_features(&self, table: &Table, indices: &[usize], line: u64, row: &Row, imputed: &mut BTreeMap<String, u64>, out: &mut Vec<f32>) -> Result<()> {
        let row_err = |reason: String| Error::TableRow { path: table.path.clone(), line, reason };
        for (prep, &i) in self.columns.iter().zip(indices) {
            match prep {
                ColumnPrep::Numeric { name, fill, shift, scale } => {
                    let value = match row[i].as_deref() {
                        Some(v) => v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| row_err(format!("column `{name}`: `{v}` is not a number")))?,
                        None => {
                            *imputed.entry(name.clone()).or_default() += 1;
                            *fill
                        }
                    };
                    let scaled = (value - shift) / scale;
                    // The difference overflows for values near f64::MAX of opposite signs; the quotients do not.
                    let feature = (if scaled.is_finite() { scaled } else { value / scale - shift / scale }) as f32;
                    if !feature.is_finite() {
                        return Err(row_err(format!("column `{name}`: `{value}` scales to {feature}, outside what f32 features hold")));
                    }
                    out.push(feature);
                }
                ColumnPrep::Categorical { name, categories, fill, encoding } => {
                    let value = match row[i].as_deref() {
                        Some(v) => v,
                        None => {
                            *imputed.entry(name.clone()).or_default() += 1;
                            fill.as_str()
                        }
                    };
                    let index = categories.iter().position(|c| c == value);
                    match encoding {
                        Encoding::OneHot => out.extend(categories.iter().enumerate().map(|(k, _)| f32::from(u8::from(Some(k) == index)))),
                        Encoding::Ordinal => out.push(index.map_or(-1.0, |k| k as f32)),
                    }
                }
            }
        }
        Ok(())
    }
}

fn numeric_prep(name: &str, sorted: &[f64], options: &TabularOptions) -> ColumnPrep {
    let n = sorted.len().max(1) as f64;
    // Values near f64::MAX overflow the plain sum: then each term is divided first.
    let naive = sorted.iter().sum::<f64>() / n;
    let mean = if naive.is_finite() { naive } else { sorted.iter().map(|v| v / n).sum::<f64>() };
    let quantile = |q: f64| {
        if sorted.is_empty() {
            return 0.0;
        }
        let pos = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    let median = quantile(0.5);
    let fill = if options.missing == Missing::Mean { mean } else { median };
    let nonzero = |s: f64| if s > 0.0 && s.is_finite() { s } else { 1.0 };
    let (shift, scale) = match options.scaling {
        Scaling::None => (0.0, 1.0),
        Scaling::Standard => {
            let naive = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            // Where deviations overflow, they are computed on the values divided by the largest magnitude.
            let largest = sorted.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let std = if naive.is_finite() || largest == 0.0 {
                naive
            } else {
                largest * (sorted.iter().map(|v| (v / largest - mean / largest).powi(2)).sum::<f64>() / n).sqrt()
            };
            (mean, nonzero(std))
        }
        Scaling::MinMax => {
            let (lo, hi) = (sorted.first().copied().unwrap_or(0.0), sorted.last().copied().unwrap_or(0.0));
            (lo, nonzero(hi - lo))
        }
        Scaling::Robust => (median, nonzero(quantile(0.75) - quantile(0.25))),
    };
    ColumnPrep::Numeric { name: name.into(), fill, shift, scale }
}

/// The rows kept (a missing target always drops the row; other missing values by `options.missing`;
/// duplicates by `options.drop_duplicates`), and what was dropped.
fn clean<'t>(table: &'t Table, target: usize, options: &TabularOptions) -> (Vec<(u64, &'t Row)>, CleaningReport) {
    let mut report = CleaningReport::default();
    let mut seen = BTreeSet::new();
    let mut kept = Vec::new();
    for (line, row) in &table.rows {
        let used = |i: &usize| !options.ignore.contains(&table.columns[*i]);
        let missing_target = row[target].is_none();
        let missing_any = (0..row.len()).filter(used).any(|i| row[i].is_none());
        if missing_target || (options.missing == Missing::Drop && missing_any) {
            report.dropped_missing.push(*line);
            continue;
        }
        if options.drop_duplicates && !seen.insert(row.clone()) {
            report.dropped_duplicates.push(*line);
            continue;
        }
        kept.push((*line, row));
    }
    (kept, report)
}

/// A stratified split: per class, `test_fraction` of its rows (rounded, at least one and at most all but
/// one; a class with a single row stays in training) go to the test side, chosen by `Rng::derived(seed, "split/stratified")`. Returns the
/// training and test row indices, each sorted.
pub fn stratified_split(labels: &[usize], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = owm_core::Rng::derived(seed, "split/stratified");
    let classes: BTreeSet<usize> = labels.iter().copied().collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in classes {
        let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        let order = rng.permutation(members.len());
        let n_test = if members.len() < 2 { 0 } else { ((members.len() as f64 * test_fraction).round() as usize).clamp(1, members.len() - 1) };
        for (k, &o) in order.iter().enumerate() {
            if k < n_test { test.push(members[o]) } else { train.push(members[o]) }
        }
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}
