//! What a transfer did to each tensor, as data and as the Markdown table of `transfer.md`.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::prelude::*;
use owm_core::InitRecord;
use serde::{Deserialize, Serialize};

use crate::{Adaptation, Result};

/// A module tensor loaded as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Module path.
    pub path: String,
    /// Source path.
    pub from: String,
}

/// A module tensor made from a source tensor of another shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adapted {
    /// Module path.
    pub path: String,
    /// Source path.
    pub from: String,
    /// The source tensor's shape.
    pub from_shape: Vec<usize>,
    /// The module tensor's shape.
    pub shape: Vec<usize>,
    /// How.
    pub how: Adaptation,
}

/// A module tensor a source tensor maps to but that kept its own values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Module path.
    pub path: String,
    /// Source path.
    pub from: String,
    /// Why (`"excluded"`, or the two shapes).
    pub reason: String,
}

/// What [`Transfer::apply`] did. Every module tensor is in exactly one of `applied`, `adapted`, `skipped` and
/// `missing`; every source tensor is the `from` of one of the first three, or in `unused`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferReport {
    /// The source's name.
    pub source: String,
    /// The source's digest.
    pub digest: String,
    /// Loaded as they were.
    pub applied: Vec<Applied>,
    /// Made to fit.
    pub adapted: Vec<Adapted>,
    /// Left as initialised although the source has a tensor for them.
    pub skipped: Vec<Skipped>,
    /// Module tensors the source has nothing for (left as initialised).
    pub missing: Vec<String>,
    /// Source tensors that map to no module tensor.
    pub unused: Vec<String>,
}

impl TransferReport {
    /// The module paths whose values now come from the source (applied, and adapted in place): what
    /// [`Transfer::freeze`] freezes. A new head is not among them.
    pub fn transferred(&self) -> Vec<String> {
        let adapted = self.adapted.iter().filter(|a| matches!(a.how, Adaptation::InputChannels { .. }));
        self.applied.iter().map(|a| a.path.clone()).chain(adapted.map(|a| a.path.clone())).collect()
    }

    /// Rewrites the init records of the transferred parameters: strategy `pretrained` naming the source, its
    /// digest, the source path (and the adaptation), with the moments of the values now in `module`.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] when a parameter's values cannot be read back for its moments.
    pub fn annotate<M: Module>(&self, records: &mut [InitRecord], module: &M) -> Result<()> {
        let values: BTreeMap<String, TensorData> = owm_core::param_data(module).into_iter().collect();
        let adapted = self.adapted.iter().filter(|a| matches!(a.how, Adaptation::InputChannels { .. }));
        let sources = self.applied.iter().map(|a| (&a.path, &a.from, None)).chain(adapted.map(|a| (&a.path, &a.from, Some(&a.how))));
        for (path, from, how) in sources {
            let Some(record) = records.iter_mut().find(|r| &r.path == path) else { continue };
            let mut strategy = serde_json::json!({ "kind": "pretrained", "source": self.source, "from": from, "digest": self.digest });
            if let Some(how) = how {
                strategy["adapted"] = serde_json::json!(how);
            }
            record.rule = None;
            record.strategy = strategy;
            if let Some(data) = values.get(path) {
                let values = data
                    .clone()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .map_err(|e| owm_core::Error::Param { path: path.clone(), reason: format!("values could not be read back: {e:?}") })?;
                (record.mean, record.std) = crate::plan::moments(&values);
            }
        }
        Ok(())
    }

    /// One line: how many tensors went each way (`2 applied, 0 adapted, 2 skipped, 0 missing, 0 unused`).
    pub fn summary(&self) -> String {
        let (a, d, s, m, u) = (self.applied.len(), self.adapted.len(), self.skipped.len(), self.missing.len(), self.unused.len());
        format!("{a} applied, {d} adapted, {s} skipped, {m} missing, {u} unused")
    }

    /// The report as Markdown: the summary, then one table row per tensor.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut out =
            format!("Transfer from `{}`: {}.\n\n| module tensor | status | source tensor | detail |\n|---|---|---|---|\n", self.source, self.summary());
        let mut row = |path: &str, status: &str, from: &str, detail: String| {
            let _ = writeln!(out, "| {path} | {status} | {from} | {detail} |");
        };
        self.applied.iter().for_each(|a| row(&a.path, "applied", &a.from, String::new()));
        for a in &self.adapted {
            let detail = match a.how {
                Adaptation::NewHead { from_outputs, outputs } => format!("new head: {from_outputs} → {outputs} outputs"),
                Adaptation::InputChannels { from_channels, channels } => format!("input channels {from_channels} → {channels}"),
            };
            row(&a.path, "adapted", &a.from, detail);
        }
        self.skipped.iter().for_each(|s| row(&s.path, "skipped", &s.from, s.reason.clone()));
        self.missing.iter().for_each(|p| row(p, "missing", "", String::new()));
        self.unused.iter().for_each(|p| row("", "unused", p, String::new()));
        out
    }
}
