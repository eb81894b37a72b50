//! A self-contained HTML page summarising a run: what was trained, how it went, how well it works.

use owm_eval::ClassificationReport;
use owm_trace::escape;

use crate::{ExperimentConfig, TrainingSummary};

/// Renders `report.html`: the experiment, the stop reason, the evaluation table, the confusion matrix and the
/// loss and update-ratio charts (inlined SVG), so one file can be opened or shared.
pub fn html_report(
    config: &ExperimentConfig,
    training: &TrainingSummary,
    evaluation: &ClassificationReport,
    class_names: &[String],
    weights_digest: &str,
    charts: &[&str],
) -> String {
    let name = |i: usize| class_names.get(i).map_or_else(|| i.to_string(), |n| escape(n));
    let mut rows = String::new();
    for (i, m) in evaluation.per_class.iter().enumerate() {
        rows += &format!(
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>\n",
            name(i),
            m.precision,
            m.recall,
            m.f1,
            m.support
        );
    }
    let max = evaluation.confusion.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut confusion = format!(
        "<tr><th>true \\ predicted</th>{}</tr>\n",
        (0..evaluation.confusion.len()).map(|i| format!("<th>{}</th>", name(i))).collect::<String>()
    );
    for (t, row) in evaluation.confusion.iter().enumerate() {
        confusion += &format!("<tr><th>{}</th>", name(t));
        for &n in row {
            let shade = 255.0 - 160.0 * (n as f64 / max);
            confusion += &format!("<td style=\"background: rgb({shade:.0}, {shade:.0}, 255)\">{n}</td>");
        }
        confusion += "</tr>\n";
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>OWM run: {title}</title>
<style>body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }} pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}</style>
</head><body>
<h1>OWM run: {title}</h1>
<p><b>{model}</b> on <b>{data}</b> with <b>{optimizer}</b> on <b>{backend}</b>, seed {seed}.</p>
<p>Stopped after {steps} steps ({epochs} epochs, batch {batch}): {stop}. Final training loss {loss:.5}.</p>
<ol>{phases}</ol>
<p><b>Test accuracy {accuracy:.4}</b>, macro F1 {macro_f1:.4} on {total} held-out items. Weights digest <code>{digest}</code>.</p>
<h2>Training</h2>
{charts}
<h2>Evaluation</h2>
<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
{rows}<tr><th>macro avg</th><td>{macro_p:.4}</td><td>{macro_r:.4}</td><td>{macro_f1:.4}</td><td>{total}</td></tr></table>
<h3>Confusion matrix</h3>
<table>{confusion}</table>
<h2>Experiment</h2>
<pre>{config_json}</pre>
</body></html>
"#,
        title = escape(&config.name),
        model = config.model.name(),
        data = config.data.name(),
        optimizer = escape(&training.phases.iter().map(|p| p.optimizer.as_str()).collect::<Vec<_>>().join(" → ")),
        phases = training
            .phases
            .iter()
            .map(|p| format!(
                "<li>{}: {} steps, {} evaluations, final loss {:.5}, stopped: {}</li>",
                escape(&p.optimizer),
                p.steps,
                p.evaluations,
                p.final_loss,
                escape(&p.stop_reason.to_string())
            ))
            .collect::<String>(),
        backend = config.backend,
        seed = config.seed,
        steps = training.steps,
        epochs = training.epochs,
        batch = training.batch_size,
        stop = escape(&training.stop_reason.to_string()),
        loss = training.final_train_loss,
        accuracy = evaluation.accuracy,
        macro_f1 = evaluation.macro_f1,
        macro_p = evaluation.macro_precision,
        macro_r = evaluation.macro_recall,
        total = evaluation.total,
        digest = weights_digest,
        charts = charts.join("\n"),
        config_json = escape(&config.to_json()),
    )
}
