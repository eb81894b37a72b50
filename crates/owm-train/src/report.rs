//! `report.html`: one self-contained page explaining a run, rendered from its trace alone (so a killed run's
//! partial trace renders too), plus its evaluation when there is one.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use owm_core::{TraceEvent, WeightsAt, write_atomic};
use owm_eval::Evaluation;
use owm_trace::{
    Explanation, Severity, Trace, accuracy_chart, escape, explain, grad_norm_chart, heatmap, histogram_chart, loss_chart, lr_chart, update_ratio_chart,
    weight_norm_chart,
};

use crate::{Error, ExperimentConfig, Result, files};

/// The evaluation shown in a report, with its class names.
#[derive(Debug, Clone, Copy)]
pub struct ReportEvaluation<'a> {
    /// The metrics.
    pub evaluation: &'a Evaluation,
    /// Class names, by class index (empty: indices are shown).
    pub class_names: &'a [String],
}

/// Writes `report.html` (and the `loss.svg` and `update_ratio.svg` charts) into `run_dir` from its trace
/// (read with [`owm_trace::read_trace`]), `evaluation.json` when present, and the bundle's class names when
/// there is a bundle.
///
/// # Errors
///
/// [`Error::Run`] if `evaluation.json` is present but invalid; a file error naming the file.
pub fn write_report(run_dir: &Path, trace: &Trace) -> Result<PathBuf> {
    let eval_path = run_dir.join(files::EVALUATION_JSON);
    let evaluation: Option<Evaluation> = match std::fs::read(&eval_path) {
        Ok(bytes) => {
            Some(serde_json::from_slice(&bytes).map_err(|e| Error::Run { dir: run_dir.to_path_buf(), reason: format!("`{}`: {e}", eval_path.display()) })?)
        }
        Err(_) => None,
    };
    let class_names: Vec<String> = std::fs::read(run_dir.join(files::BUNDLE).join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<owm_share::Manifest>(&b).ok())
        .and_then(|m| serde_json::from_value(m.dataset["class_names"].clone()).ok())
        .unwrap_or_default();
    let evaluation = evaluation.as_ref().map(|evaluation| ReportEvaluation { evaluation, class_names: &class_names });
    write_report_with(run_dir, trace, evaluation)
}

/// [`write_report`] from a trace already in memory.
///
/// # Errors
///
/// A file error naming the file.
pub fn write_report_with(run_dir: &Path, trace: &Trace, evaluation: Option<ReportEvaluation<'_>>) -> Result<PathBuf> {
    let (loss, ratio) = (loss_chart(trace), update_ratio_chart(trace));
    write_atomic(&run_dir.join(files::LOSS_SVG), loss.as_bytes())?;
    write_atomic(&run_dir.join(files::UPDATE_RATIO_SVG), ratio.as_bytes())?;
    let html = render(trace, evaluation, loss, ratio);
    let path = run_dir.join(files::REPORT_HTML);
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

fn render(trace: &Trace, evaluation: Option<ReportEvaluation<'_>>, loss: String, ratio: String) -> String {
    let config = trace.events.iter().find_map(|e| match e {
        TraceEvent::RunStarted { config, .. } => Some(config.clone()),
        _ => None,
    });
    let parsed: Option<ExperimentConfig> = config.clone().and_then(|c| serde_json::from_value(c).ok());
    let title = parsed.as_ref().map_or_else(|| "run".to_string(), |c| c.name.clone());
    let mut page = String::new();
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>OWM run: {t}</title>
<style>
body {{ font-family: sans-serif; max-width: 64em; margin: 2em auto; line-height: 1.4; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }} figure {{ margin: 1em 0; }} svg {{ max-width: 100%; height: auto; }}
.alarm {{ color: #a00; font-weight: bold; }} .warning {{ color: #b60; }} .info {{ color: #333; }}
</style>
</head><body>
<h1>OWM run: {t}</h1>
"#,
        t = escape(&title)
    );
    if let Some(c) = &parsed {
        let _ = writeln!(
            page,
            "<p><b>{}</b> on <b>{}</b> with <b>{}</b> on <b>{}</b>, seed {}, batch {}.</p>",
            c.model.name(),
            c.data.name(),
            escape(&c.optimizer_names()),
            c.backend,
            c.seed,
            c.batch_size
        );
    }
    let explanation = explain(trace);
    page += &explanation_html(&explanation);
    page += &phases_html(trace);
    if let Some(e) = evaluation {
        let r = &e.evaluation.report;
        let _ = writeln!(page, "<p><b>Test accuracy {:.4}</b>, macro F1 {:.4} on {} held-out items.</p>", r.accuracy, r.macro_f1, r.total);
    }
    page += &digests_html(trace);
    page += "<h2>Training</h2>\n";
    let mut figures = vec![loss, accuracy_chart(trace), lr_chart(trace), ratio, weight_norm_chart(trace)];
    figures.push(grad_norm_chart(trace));
    for path in histogram_paths(trace) {
        figures.push(histogram_chart(trace, &path));
    }
    for f in &figures {
        let _ = writeln!(page, "<figure>{f}</figure>");
    }
    if let Some(e) = evaluation {
        page += &evaluation_html(e);
    }
    if let Some(c) = config {
        let _ = writeln!(page, "<h2>Experiment</h2>\n<pre>{}</pre>", escape(&serde_json::to_string_pretty(&c).unwrap_or_default()));
    }
    page += "</body></html>\n";
    page
}

fn explanation_html(e: &Explanation) -> String {
    let mut out = format!("<h2>What happened</h2>\n<p id=\"stop\">{}</p>\n<ul id=\"findings\">\n", escape(&e.stop));
    for f in &e.findings {
        let (class, label) = match f.severity {
            Severity::Alarm => ("alarm", "alarm"),
            Severity::Warning => ("warning", "warning"),
            Severity::Info => ("info", "note"),
        };
        let _ = writeln!(out, "<li class=\"{class}\" data-rule=\"{}\">{label}: {}</li>", f.rule, escape(&f.message));
    }
    if !e.findings.iter().any(|f| f.severity > Severity::Info) {
        out += "<li class=\"info\">nothing alarming: no rule fired (see the rules in owm-trace's `explain` docs)</li>\n";
    }
    out + "</ul>\n"
}

fn phases_html(trace: &Trace) -> String {
    let mut out = String::from("<ol id=\"phases\">\n");
    for e in &trace.events {
        match e {
            TraceEvent::PhaseStarted { phase, optimizer, settings, .. } => {
                let _ = write!(out, "<li>phase {phase}: <b>{}</b> <code>{}</code>", escape(optimizer), escape(&settings.to_string()));
            }
            TraceEvent::PhaseEnded { reason, steps, evaluations, .. } => {
                let _ = writeln!(out, " — {steps} steps, {evaluations} evaluations, stopped: {}</li>", escape(&reason.to_string()));
            }
            TraceEvent::Resumed { step } => {
                let _ = write!(out, " (resumed from the checkpoint at step {step})");
            }
            _ => {}
        }
    }
    out + "</ol>\n"
}

fn digests_html(trace: &Trace) -> String {
    let record = |at: WeightsAt| {
        trace.events.iter().rev().find_map(|e| match e {
            TraceEvent::Weights(w) if w.at == at => Some(w),
            _ => None,
        })
    };
    let mut out = String::new();
    for (name, at) in [("initial", WeightsAt::Initial), ("final", WeightsAt::Final)] {
        if let Some(w) = record(at) {
            let _ = writeln!(
                out,
                "<p>{name} weights (step {}): {}</p>",
                w.step,
                w.digests.iter().map(|(p, d)| format!("<code>{}</code> {}", escape(p), escape(d.get(..12).unwrap_or(d)))).collect::<Vec<_>>().join(", ")
            );
        }
    }
    out
}

/// Paths with histograms, multi-dimensional parameters (weights, kernels) first, at most 12.
fn histogram_paths(trace: &Trace) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for e in &trace.events {
        if let TraceEvent::Distribution(d) = e
            && !paths.contains(&d.path)
        {
            paths.push(d.path.clone());
        }
    }
    paths.sort_by_key(|p| p.ends_with("bias"));
    paths.truncate(12);
    paths
}

fn evaluation_html(e: ReportEvaluation<'_>) -> String {
    let r = &e.evaluation.report;
    let name = |i: usize| e.class_names.get(i).map_or_else(|| i.to_string(), |n| escape(n));
    let mut out =
        String::from("<h2>Evaluation</h2>\n<table id=\"metrics\"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
    for (i, m) in r.per_class.iter().enumerate() {
        let _ = writeln!(out, "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>", name(i), m.precision, m.recall, m.f1, m.support);
    }
    let _ = writeln!(
        out,
        "<tr><th>macro avg</th><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr></table>",
        r.macro_precision, r.macro_recall, r.macro_f1, r.total
    );
    let labels: Vec<String> = (0..r.confusion.len()).map(|i| e.class_names.get(i).cloned().unwrap_or_else(|| i.to_string())).collect();
    let values: Vec<Vec<f64>> = r.confusion.iter().map(|row| row.iter().map(|&n| n as f64).collect()).collect();
    let chart =
        heatmap("Confusion matrix (rows: true class, columns: predicted)", "predicted", &labels, Some(&labels), 0.0..labels.len() as f64, &values, "items");
    let _ = writeln!(out, "<figure id=\"confusion\">{chart}</figure>");
    let _ = writeln!(
        out,
        "<table id=\"confusion-table\"><tr><th>true \\ predicted</th>{}</tr>",
        labels.iter().map(|l| format!("<th>{}</th>", escape(l))).collect::<String>()
    );
    for (t, row) in r.confusion.iter().enumerate() {
        let _ = writeln!(out, "<tr><th>{}</th>{}</tr>", name(t), row.iter().map(|n| format!("<td>{n}</td>")).collect::<String>());
    }
    out.push_str("</table>\n");
    let ev = e.evaluation;
    if let Some(s) = &ev.scores {
        let _ = writeln!(
            out,
            "<table id=\"scores\"><tr><th>ROC AUC</th><th>average precision</th><th>log loss</th></tr><tr><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr></table>",
            s.roc_auc, s.average_precision, s.log_loss
        );
    }
    if let Some(rk) = &ev.ranking {
        let k = rk.model.k;
        let _ = writeln!(
            out,
            "<table id=\"ranking\"><tr><th>{} users</th><th>NDCG@{k}</th><th>HitRate@{k}</th><th>Recall@{k}</th><th>MAP@{k}</th></tr>",
            rk.groups
        );
        let rows = std::iter::once(("model", &rk.model)).chain(rk.baseline.as_ref().map(|(n, m)| (n.as_str(), m)));
        for (n, m) in rows {
            let _ =
                writeln!(out, "<tr><th>{}</th><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>", escape(n), m.ndcg, m.hit_rate, m.recall, m.map);
        }
        out.push_str("</table>\n");
    }
    if !ev.intervals.is_empty() {
        out.push_str("<table id=\"intervals\"><tr><th>metric</th><th>value</th><th>95% bootstrap interval</th></tr>\n");
        for (n, i) in &ev.intervals {
            let _ = writeln!(out, "<tr><th>{}</th><td>{:.4}</td><td>{:.4} – {:.4}</td></tr>", escape(n), i.value, i.low, i.high);
        }
        out.push_str("</table>\n");
    }
    out
}
