//! Orange's `.tab` tables (the format of Orange's bundled datasets, e.g. `heart_disease.tab`): tab-separated,
//! with three header lines — the column names, each column's type (`c`ontinuous, `d`iscrete, `s`tring, or
//! the list of its values, spaces escaped as `\ `) and its flag (`class`, `meta`, `ignore`, or nothing).

use std::collections::BTreeMap;
use std::path::Path;

use crate::tabular::{ColumnKind, Row, Table, TabularOptions};
use crate::{Error, Result};

/// An Orange table as read: the rows of its feature and class columns, and what its header declares.
#[derive(Debug, Clone, PartialEq)]
pub struct OrangeTable {
    /// The feature and class columns (meta, ignored and string columns are left out).
    pub table: Table,
    /// Each column's declared kind.
    pub kinds: BTreeMap<String, ColumnKind>,
    /// The class column, when one is flagged.
    pub class: Option<String>,
}

impl OrangeTable {
    /// `options` with what the header declares filled in: the declared kinds where `options` sets none,
    /// and the class column as the target when `options.target` names no column.
    pub fn resolve(&self, options: &TabularOptions) -> TabularOptions {
        let mut resolved = options.clone();
        for (name, kind) in &self.kinds {
            resolved.kinds.entry(name.clone()).or_insert(*kind);
        }
        if let Some(class) = self.class.as_ref().filter(|_| !self.table.columns.contains(&options.target)) {
            resolved.target = class.clone();
        }
        resolved.kinds.remove(&resolved.target);
        resolved
    }
}

/// How one column of the header is used.
enum Column {
    Kept { kind: ColumnKind, values: Option<Vec<String>> },
    Dropped,
}

/// Reads an Orange `.tab` file.
///
/// Values in `options.missing_values` (by default `?` and the empty field) are missing; `options.target_map`
/// applies to the target column as for CSV (the class column when `options.target` names no column).
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be read or is not UTF-8; [`Error::TableRow`] naming the line (and
/// column) of a header line that is missing or does not fit, an unknown type or flag, a row with the wrong
/// number of fields, or a value outside its column's declared values.
pub fn read_orange(path: &Path, options: &TabularOptions) -> Result<OrangeTable> {
    let bytes = crate::error::read_file(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::Table { path: path.to_path_buf(), reason: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()) })?;
    let row_err = |line: usize, reason: String| Error::TableRow { path: path.to_path_buf(), line: line as u64, reason };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let mut header = |what: &str| {
        lines
            .next()
            .map(|(n, l)| (n, fields(l)))
            .ok_or_else(|| row_err(1, format!("an Orange .tab file starts with three header lines; the {what} line is missing")))
    };
    let (_, names) = header("names")?;
    let (types_line, types) = header("types")?;
    let (flags_line, flags) = header("flags")?;
    let width = names.len();
    for (n, line) in [(types_line, &types), (flags_line, &flags)] {
        if line.len() > width {
            return Err(row_err(n, format!("{} fields, the names line has {width}", line.len())));
        }
    }
    let mut class = None;
    let mut kinds = BTreeMap::new();
    let mut columns = Vec::with_capacity(width);
    for (i, name) in names.iter().enumerate() {
        let (ty, flag) = (types.get(i).map_or("", String::as_str), flags.get(i).map_or("", String::as_str));
        let column = match flag {
            "meta" | "m" | "ignore" | "i" => Column::Dropped,
            "" | "class" | "c" => match ty {
                "c" | "continuous" => Column::Kept { kind: ColumnKind::Numeric, values: None },
                "d" | "discrete" => Column::Kept { kind: ColumnKind::Categorical, values: None },
                "s" | "string" => Column::Dropped,
                "" | "t" | "time" => return Err(row_err(types_line, format!("column `{name}`: type `{ty}` is not supported (c, d, s or a list of values)"))),
                list => Column::Kept { kind: ColumnKind::Categorical, values: Some(value_list(list)) },
            },
            other => return Err(row_err(flags_line, format!("column `{name}`: flag `{other}` is not supported (class, meta or ignore)"))),
        };
        if let Column::Kept { kind, .. } = &column {
            if matches!(flag, "class" | "c")
                && let Some(first) = class.replace(name.clone())
            {
                return Err(row_err(flags_line, format!("two class columns, `{first}` and `{name}`")));
            }
            kinds.insert(name.clone(), *kind);
        }
        columns.push(column);
    }
    let kept: Vec<usize> = (0..width).filter(|&i| matches!(columns[i], Column::Kept { .. })).collect();
    let mut rows = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let values = fields(line);
        if values.len() != width {
            return Err(row_err(n, format!("{} fields, the header has {width}", values.len())));
        }
        let mut row: Row = Vec::with_capacity(kept.len());
        for &i in &kept {
            let value = values[i].trim();
            if options.missing_values.iter().any(|m| m == value) {
                row.push(None);
                continue;
            }
            if let Column::Kept { values: Some(allowed), .. } = &columns[i]
                && !allowed.iter().any(|a| a == value)
            {
                return Err(row_err(n, format!("column `{}`: `{value}` is not one of its values ({})", names[i], allowed.join(", "))));
            }
            row.push(Some(value.to_string()));
        }
        rows.push((n as u64, row));
    }
    let table = Table { path: path.to_path_buf(), columns: kept.iter().map(|&i| names[i].clone()).collect(), rows };
    let mut orange = OrangeTable { table, kinds, class };
    let resolved = orange.resolve(options);
    crate::tabular::map_target(&mut orange.table, &resolved);
    Ok(orange)
}

fn fields(line: &str) -> Vec<String> {
    line.split('\t').map(|f| f.trim().to_string()).collect()
}

/// A type field that lists a column's values: separated by spaces, `\ ` a space inside a value.
fn value_list(list: &str) -> Vec<String> {
    let mut values = vec![String::new()];
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => values.last_mut().into_iter().for_each(|v| v.extend(chars.next())),
            ' ' => values.push(String::new()),
            c => values.last_mut().into_iter().for_each(|v| v.push(c)),
        }
    }
    values.retain(|v| !v.is_empty());
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEART: &str = "age\tsex\trest ECG\tnote\tdiameter narrowing\n\
                         c\td\tnormal left\\ vent\\ hypertrophy\ts\td\n\
                         \t\t\tmeta\tclass\n\
                         63\tmale\tleft vent hypertrophy\tfirst\t0\n\
                         67\t?\tnormal\t\t1\n";

    fn write(text: &str) -> (owm_testkit::TempDir, std::path::PathBuf) {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("heart.tab");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn should_read_the_header_rows_and_values() {
        let (_dir, path) = write(HEART);
        let t = read_orange(&path, &TabularOptions::default()).unwrap();
        assert_eq!(t.table.columns, ["age", "sex", "rest ECG", "diameter narrowing"]);
        assert_eq!(t.table.rows[0], (4, vec![Some("63".into()), Some("male".into()), Some("left vent hypertrophy".into()), Some("0".into())]));
        assert_eq!(t.table.rows[1].1[1], None);
        assert_eq!(t.class.as_deref(), Some("diameter narrowing"));
        let resolved = t.resolve(&TabularOptions::default());
        assert_eq!(resolved.target, "diameter narrowing");
        assert_eq!(resolved.kinds.get("sex"), Some(&ColumnKind::Categorical));
        assert_eq!(resolved.kinds.get("age"), Some(&ColumnKind::Numeric));
        assert!(!resolved.kinds.contains_key("diameter narrowing"));
    }

    #[test]
    fn a_value_outside_the_declared_list_should_name_line_and_column() {
        let (_dir, path) = write(&HEART.replace("67\t?\tnormal", "67\t?\tabnormal"));
        let err = read_orange(&path, &TabularOptions::default()).unwrap_err().to_string();
        assert!(err.contains("heart.tab") && err.contains("line 5") && err.contains("rest ECG") && err.contains("`abnormal`"), "{err}");
    }

    #[test]
    fn a_row_of_the_wrong_width_should_name_its_line() {
        let (_dir, path) = write(&format!("{HEART}70\tmale\n"));
        let err = read_orange(&path, &TabularOptions::default()).unwrap_err().to_string();
        assert!(err.contains("line 6") && err.contains("2 fields"), "{err}");
    }

    #[test]
    fn a_file_without_its_header_lines_should_say_so() {
        let (_dir, path) = write("age\tsex\n");
        let err = read_orange(&path, &TabularOptions::default()).unwrap_err().to_string();
        assert!(err.contains("types line is missing"), "{err}");
    }

    #[test]
    fn an_unknown_flag_should_be_refused() {
        let (_dir, path) = write(&HEART.replace("\tmeta\tclass", "\tweird\tclass"));
        let err = read_orange(&path, &TabularOptions::default()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("flag `weird`"), "{err}");
    }

    #[test]
    fn two_class_columns_should_be_refused() {
        let (_dir, path) = write(&HEART.replace("\t\t\tmeta\tclass", "class\t\t\tmeta\tclass"));
        let err = read_orange(&path, &TabularOptions::default()).unwrap_err().to_string();
        assert!(err.contains("two class columns, `age` and `diameter narrowing`"), "{err}");
    }

    #[test]
    fn a_time_column_should_be_refused_by_name() {
        let (_dir, path) = write(&HEART.replacen("c\td", "t\td", 1));
        let err = read_orange(&path, &TabularOptions::default()).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("column `age`: type `t`"), "{err}");
    }
}
