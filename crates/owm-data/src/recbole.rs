//! RecBole's atomic files (`.inter`, `.user`, `.item`; the layout of RecBole's bundled MovieLens 100K):
//! tab-separated, one header line of `name:type` fields, with types `token`, `token_seq`, `float` and
//! `float_seq`.
//!
//! `.inter` rows become [`Interactions`] (columns `user_id`, `item_id`, a `rating` or `label`, and an optional
//! `timestamp`); `.user` and `.item` rows give side features, one per `token` column.

use std::path::Path;

use crate::interactions::{Interaction, Interactions};
use crate::{Error, Result};

/// A column type of an atomic file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicType {
    /// One categorical value.
    Token,
    /// Space-separated categorical values.
    TokenSeq,
    /// One number.
    Float,
    /// Space-separated numbers.
    FloatSeq,
}

/// An atomic file as read: its typed columns and its rows (with their file lines), every row as wide as the
/// header.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomicTable {
    /// Column names and types, in file order.
    pub columns: Vec<(String, AtomicType)>,
    /// `(line, fields)` of every non-empty row after the header.
    pub rows: Vec<(u64, Vec<String>)>,
}

impl AtomicTable {
    /// The index of the column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(n, _)| n == name)
    }
}

/// Whether `path` names an atomic file by its extension (`.inter`, `.user`, `.item`).
pub fn is_atomic(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

/// Reads an atomic file.
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be read or is not UTF-8; [`Error::TableRow`] naming the line of a
/// header field without a known `:type`, a repeated column name, or a row of another width than the header.
pub fn read_atomic(path: &Path) -> Result<AtomicTable> {
    let text = std::fs::read(path).map_err(|e| Error::Table { path: path.to_path_buf(), reason: e.to_string() })?;
    let text =
        String::from_utf8(text).map_err(|e| Error::Table { path: path.to_path_buf(), reason: format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()) })?;
    let row_err = |line: u64, reason: String| Error::TableRow { path: path.to_path_buf(), line, reason };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)));
    let (_, header) = lines.next().ok_or_else(|| row_err(1, "empty file: an atomic file starts with a `name:type` header".into()))?;
    let mut columns: Vec<(String, AtomicType)> = Vec::new();
    for field in header.split('\t') {
        let (name, kind) = field.trim().rsplit_once(':').ok_or_else(|| row_err(1, format!("header field `{field}` is not NAME:TYPE")))?;
        let kind = match kind {
            "token" => AtomicType::Token,
            "token_seq" => AtomicType::TokenSeq,
            "float" => AtomicType::Float,
            "float_seq" => AtomicType::FloatSeq,
            other => return Err(row_err(1, format!("column `{name}` has type `{other}`: expected token, token_seq, float or float_seq"))),
        };
        if name.is_empty() || columns.iter().any(|(n, _)| n == name) {
            return Err(row_err(1, format!("column name `{name}` is empty or repeated")));
        }
        columns.push((name.to_string(), kind));
    }
    let mut rows = Vec::new();
    for (line, text) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<String> = text.split('\t').map(|f| f.trim().to_string()).collect();
        if fields.len() != columns.len() {
            return Err(row_err(line, format!("{} fields, the header has {}", fields.len(), columns.len())));
        }
        rows.push((line, fields));
    }
    Ok(AtomicTable { columns, rows })
}

/// Reads a `.inter` file as interactions: `user_id` and `item_id` tokens, the label from `rating` (or
/// `label`), and `timestamp` when present (a float holding a whole number of seconds).
///
/// # Errors
///
/// As [`read_atomic`], and [`Error::TableRow`] naming the line of a missing column, a label that is not a
/// finite number or a timestamp that is not a whole number.
pub fn read_inter(path: &Path) -> Result<Interactions> {
    let table = read_atomic(path)?;
    let row_err = |line: u64, reason: String| Error::TableRow { path: path.to_path_buf(), line, reason };
    let need = |name: &str| table.column(name).ok_or_else(|| row_err(1, format!("no `{name}` column (the header has {})", names(&table))));
    let (user, item) = (need("user_id")?, need("item_id")?);
    let label = table
        .column("rating")
        .or_else(|| table.column("label"))
        .ok_or_else(|| row_err(1, format!("no `rating` or `label` column (the header has {})", names(&table))))?;
    let timestamp = table.column("timestamp");
    let mut set = Interactions { users: Vec::new(), items: Vec::new(), rows: Vec::with_capacity(table.rows.len()) };
    let (mut users, mut items) = (crate::interactions::Ids::default(), crate::interactions::Ids::default());
    for (line, fields) in &table.rows {
        let value =
            fields[label].parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| row_err(*line, format!("label `{}` is not a number", fields[label])))?;
        let timestamp = match timestamp {
            Some(t) => {
                let seconds = fields[t].parse::<f64>().ok().filter(|s| s.fract() == 0.0 && s.abs() < 9.0e15);
                Some(seconds.ok_or_else(|| row_err(*line, format!("timestamp `{}` is not a whole number", fields[t])))? as i64)
            }
            None => None,
        };
        set.rows.push(Interaction { user: users.id(&fields[user]), item: items.id(&fields[item]), label: value, timestamp, line: *line });
    }
    (set.users, set.items) = (users.names, items.names);
    Ok(set)
}

fn names(table: &AtomicTable) -> String {
    table.columns.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (owm_testkit::TempDir, std::path::PathBuf) {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn should_read_movielens_style_interactions() {
        let (_d, path) = write(
            "ml.inter",
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t4\t891717742\n196\t302\t5\t881251000\n",
        );
        let set = read_inter(&path).unwrap();
        assert_eq!((set.users, set.items), (vec!["196".to_string(), "186".into()], vec!["242".to_string(), "302".into()]));
        let rows: Vec<(usize, usize, f32, Option<i64>, u64)> = set.rows.iter().map(|r| (r.user, r.item, r.label, r.timestamp, r.line)).collect();
        assert_eq!(rows, [(0, 0, 3.0, Some(881_250_949), 2), (1, 1, 4.0, Some(891_717_742), 3), (0, 1, 5.0, Some(881_251_000), 4)]);
    }

    #[test]
    fn should_name_the_line_of_a_bad_row_or_header() {
        let cases = [
            ("user_id\titem_id:token\trating:float\n", 1, "NAME:TYPE"),
            ("user_id:token\titem_id:int\trating:float\n", 1, "type `int`"),
            ("user_id:token\titem_id:token\n1\t2\n", 1, "no `rating` or `label`"),
            ("user_id:token\titem_id:token\trating:float\n1\t2\n", 2, "2 fields, the header has 3"),
            ("user_id:token\titem_id:token\trating:float\n1\t2\t3\n1\t2\tx\n", 3, "label `x`"),
            ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t1.5\n", 2, "not a whole number"),
        ];
        for (text, line, what) in cases {
            let (_d, path) = write("bad.inter", text);
            match read_inter(&path) {
                Err(Error::TableRow { line: l, reason, .. }) => assert!(l == line && reason.contains(what), "{text:?}: line {l}, {reason}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
