//! User–item interactions for recommendation: `user,item,label[,timestamp]` files, id encoding, seeded
//! negative sampling, and random or chronological (per-user, latest last) splits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use owm_core::Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One interaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Encoded user id (index into [`Interactions::users`]).
    pub user: usize,
    /// Encoded item id (index into [`Interactions::items`]).
    pub item: usize,
    /// The label: 1 for a click, 0 for none (any number for ratings).
    pub label: f32,
    /// When it happened, if the file says.
    pub timestamp: Option<i64>,
    /// The file line it came from (0 for a sampled negative).
    pub line: u64,
}

/// Interactions with their id encodings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interactions {
    /// Raw user ids, by encoded id (in order of first appearance).
    pub users: Vec<String>,
    /// Raw item ids, by encoded id (in order of first appearance).
    pub items: Vec<String>,
    /// The interactions, in file order.
    pub rows: Vec<Interaction>,
}

/// Reads a `user,item,label[,timestamp]` CSV file (a first line whose label is not a number is a header), or a
/// RecBole `.inter` file ([`read_inter`](crate::recbole::read_inter)).
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be read; [`Error::TableRow`] naming the line of a row with other
/// than 3 or 4 fields, a label that is not a number or a timestamp that is not an integer.
pub fn read_interactions(path: &Path) -> Result<Interactions> {
    if crate::recbole::is_atomic(path, "inter") {
        return crate::recbole::read_inter(path);
    }
    let row_err = |line: u64, reason: String| Error::TableRow { path: path.to_path_buf(), line, reason };
    let (mut users, mut items) = (Ids::default(), Ids::default());
    let mut rows = Vec::new();
    for (n, (line, fields)) in csv_rows(path)?.into_iter().enumerate() {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(row_err(line, format!("{} fields; expected user,item,label[,timestamp]", fields.len())));
        }
        let label = match fields[2].parse::<f32>() {
            Ok(v) if v.is_finite() => v,
            _ if n == 0 => continue, // the header
            _ => return Err(row_err(line, format!("label `{}` is not a number", fields[2]))),
        };
        let timestamp = match fields.get(3) {
            Some(t) => Some(t.parse::<i64>().map_err(|_| row_err(line, format!("timestamp `{t}` is not an integer")))?),
            None => None,
        };
        rows.push(Interaction { user: users.id(fields[0]), item: items.id(fields[1]), label, timestamp, line });
    }
    Ok(Interactions { users: users.names, items: items.names, rows })
}

/// The rows of a header-less CSV file whose rows may differ in length: each row's line and its trimmed
/// fields.
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be opened; [`Error::TableRow`] naming the line of a row that does not
/// parse.
pub(crate) fn csv_rows(path: &Path) -> Result<Vec<(u64, Vec<String>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::Table { path: path.to_path_buf(), reason: e.to_string() })?;
    let row_err = |line: u64, reason: String| Error::TableRow { path: path.to_path_buf(), line, reason };
    reader
        .records()
        .enumerate()
        .map(|(n, record)| {
            let record = record.map_err(|e| row_err(e.position().map_or(0, csv::Position::line), e.to_string()))?;
            let line = record.position().map_or(n as u64 + 1, csv::Position::line);
            Ok((line, record.iter().map(|f| f.trim().to_string()).collect()))
        })
        .collect()
}

#[derive(Default)]
pub(crate) struct Ids {
    pub(crate) names: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Ids {
    pub(crate) fn id(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

impl Interactions {
    /// For each positive interaction (label > 0), `per_positive` items drawn uniformly from those the user
    /// never interacted with, as label-0 interactions (users who saw every item get none); seeded by
    /// `Rng::derived(seed, "negatives")`.
    pub fn negatives(&self, per_positive: usize, seed: u64) -> Vec<Interaction> {
        let all: Vec<usize> = (0..self.rows.len()).collect();
        self.negatives_of(&all, per_positive, seed, "negatives")
    }

    /// [`Interactions::negatives`] for the positives among `rows` only (a split), drawn from the stream
    /// `Rng::derived(seed, stream)`; "never interacted with" looks at every row, so a test positive is never
    /// drawn as a training negative.
    pub fn negatives_of(&self, rows: &[usize], per_positive: usize, seed: u64, stream: &str) -> Vec<Interaction> {
        let mut seen: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for r in &self.rows {
            seen.entry(r.user).or_default().insert(r.item);
        }
        let mut rng = Rng::derived(seed, stream);
        let mut out = Vec::new();
        for r in rows.iter().map(|&i| &self.rows[i]).filter(|r| r.label > 0.0) {
            let unseen: Vec<usize> = (0..self.items.len()).filter(|i| !seen[&r.user].contains(i)).collect();
            if unseen.is_empty() {
                continue;
            }
            for _ in 0..per_positive {
                let item = unseen[rng.below(unseen.len() as u64) as usize];
                out.push(Interaction { user: r.user, item, label: 0.0, timestamp: r.timestamp, line: 0 });
            }
        }
        out
    }

    /// A random split of the rows: `test_fraction` of them (rounded) to the test side, by
    /// `Rng::derived(seed, "split/interactions")`; returns sorted row indices.
    pub fn random_split(&self, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
        let order = Rng::derived(seed, "split/interactions").permutation(self.rows.len());
        let n_test = (self.rows.len() as f64 * test_fraction).round() as usize;
        let (mut test, mut train) = (order[..n_test].to_vec(), order[n_test..].to_vec());
        train.sort_unstable();
        test.sort_unstable();
        (train, test)
    }

    /// A chronological split: for each user, the latest `test_fraction` of their interactions (rounded, at
    /// least one and at most all but one; a user with a single interaction stays in training) go to the test
    /// side, so the model is tested on the future.
    ///
    /// # Errors
    ///
    /// [`Error::TableRow`] naming the line of the first interaction without a timestamp.
    pub fn chronological_split(&self, test_fraction: f64, path: &Path) -> Result<(Vec<usize>, Vec<usize>)> {
        self.latest(&(0..self.rows.len()).collect::<Vec<_>>(), test_fraction, path)
    }

    /// [`Interactions::chronological_split`] of the rows `rows` alone: `(earlier, latest)`, each ascending
    /// (how a validation split is held out of the training rows).
    ///
    /// # Errors
    ///
    /// As [`Interactions::chronological_split`].
    pub fn latest(&self, rows: &[usize], fraction: f64, path: &Path) -> Result<(Vec<usize>, Vec<usize>)> {
        if let Some(r) = rows.iter().map(|&i| &self.rows[i]).find(|r| r.timestamp.is_none()) {
            return Err(Error::TableRow { path: path.to_path_buf(), line: r.line, reason: "no timestamp: a chronological split needs one per row".into() });
        }
        let mut by_user: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in rows {
            by_user.entry(self.rows[i].user).or_default().push(i);
        }
        let (mut earlier, mut latest) = (Vec::new(), Vec::new());
        for mut rows in by_user.into_values() {
            rows.sort_by_key(|&i| (self.rows[i].timestamp, i));
            // A user with one interaction stays on the earlier side; others keep at least one on each.
            let n_latest = if rows.len() < 2 { 0 } else { ((rows.len() as f64 * fraction).round() as usize).clamp(1, rows.len() - 1) };
            let cut = rows.len() - n_latest;
            earlier.extend_from_slice(&rows[..cut]);
            latest.extend_from_slice(&rows[cut..]);
        }
        earlier.sort_unstable();
        latest.sort_unstable();
        Ok((earlier, latest))
    }
}
