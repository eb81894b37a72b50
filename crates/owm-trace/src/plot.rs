//! Self-contained SVG line charts of a trace (no plotting dependency, viewable in any browser).

use std::fmt::Write;

use owm_core::TraceEvent;

use crate::Trace;

/// One named line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points `(x, y)`; non-finite points (and non-positive ones on a log axis) are skipped.
    pub points: Vec<(f64, f64)>,
}

const PALETTE: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// Renders a line chart as an SVG document.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], log_y: bool) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 420.0, 70.0, 190.0, 40.0, 50.0);
    let ty = |y: f64| if log_y { y.log10() } else { y };
    let keep = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let pts: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().copied().filter(keep)).collect();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>
"#,
        (left + w - right) / 2.0,
        escape(title)
    );
    if pts.is_empty() {
        let _ = write!(svg, r#"<text x="{}" y="{}" text-anchor="middle">no data</text></svg>"#, w / 2.0, h / 2.0);
        return svg;
    }
    let fold = |f: fn(f64, f64) -> f64, init: f64, get: fn(&(f64, f64)) -> f64| pts.iter().map(get).fold(init, f);
    let (x0, x1) = (fold(f64::min, f64::INFINITY, |p| p.0), fold(f64::max, f64::NEG_INFINITY, |p| p.0));
    let (y0, y1) = (
        pts.iter().map(|p| ty(p.1)).fold(f64::INFINITY, f64::min),
        pts.iter().map(|p| ty(p.1)).fold(f64::NEG_INFINITY, f64::max),
    );
    let (x1, y1) = (if x1 > x0 { x1 } else { x0 + 1.0 }, if y1 > y0 { y1 } else { y0 + 1.0 });
    // A log axis spans whole decades, with at most 12 ticks, each on a power of ten.
    let (y0, y1, ticks) = if log_y {
        let step = ((y1.ceil() - y0.floor()) / 12.0).ceil().max(1.0);
        let ticks = ((y1.ceil() - y0.floor()) / step).ceil().max(1.0);
        (y0.floor(), y0.floor() + ticks * step, ticks as u32)
    } else {
        (y0, y1, 4)
    };
    let (pw, ph) = (w - left - right, h - top - bottom);
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| top + ph - (ty(y) - y0) / (y1 - y0) * ph;
    let _ = writeln!(svg, r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##);
    for i in 0..=ticks {
        let f = f64::from(i) / f64::from(ticks);
        let (xv, yv) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let y_text = if log_y { format!("1e{}", yv.round()) } else { format!("{yv:.4}") };
        let (gx, gy) = (left + f * pw, top + ph - f * ph);
        let _ = writeln!(
            svg,
            r##"<line x1="{gx}" y1="{top}" x2="{gx}" y2="{}" stroke="#ddd"/><text x="{gx}" y="{}" text-anchor="middle">{}</text>
<line x1="{left}" y1="{gy}" x2="{}" y2="{gy}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{y_text}</text>"##,
            top + ph,
            top + ph + 16.0,
            trim(xv),
            left + pw,
            left - 6.0,
            gy + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text><text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}{}</text>"#,
        left + pw / 2.0,
        h - 12.0,
        escape(x_label),
        top + ph / 2.0,
        escape(y_label),
        if log_y { " (log scale)" } else { "" }
    );
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = s.points.iter().copied().filter(keep).map(|(x, y)| format!("{:.2},{:.2}", sx(x), sy(y))).collect();
        if !path.is_empty() {
            let _ = writeln!(svg, r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#, path.join(" "));
        }
        let ly = top + 14.0 + 18.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            left + pw + 10.0,
            left + pw + 30.0,
            left + pw + 36.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Training loss per step, mean loss per epoch (plotted at the epoch's last step) and, for search methods,
/// the loss of the weights held after each generation.
pub fn loss_chart(trace: &Trace) -> String {
    let steps = Series { name: "batch loss".into(), points: trace.steps().map(|s| (s.step as f64, s.loss)).collect() };
    let generations = Series {
        name: "search (best so far)".into(),
        points: trace
            .events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Generation(g) => Some((g.step as f64, g.loss)),
                _ => None,
            })
            .collect(),
    };
    let epochs = Series {
        name: "epoch mean".into(),
        points: trace
            .events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::EpochEnd(r) => Some((r.steps as f64, r.train_loss)),
                _ => None,
            })
            .collect(),
    };
    let series: Vec<Series> = [steps, epochs, generations].into_iter().filter(|s| !s.points.is_empty()).collect();
    line_chart("Training loss", "step", "cross-entropy loss", &series, true)
}

/// ‖Δw‖/‖w‖ per parameter and step: how fast each layer moves (about 1e-3 is the classic healthy range).
pub fn update_ratio_chart(trace: &Trace) -> String {
    let mut series: Vec<Series> = Vec::new();
    for s in trace.steps() {
        for l in &s.layers {
            match series.iter_mut().find(|x| x.name == l.path) {
                Some(x) => x.points.push((s.step as f64, l.update_ratio)),
                None => series.push(Series { name: l.path.clone(), points: vec![(s.step as f64, l.update_ratio)] }),
            }
        }
    }
    line_chart("Relative update size per layer", "step", "‖Δw‖ / ‖w‖", &series, true)
}

fn trim(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

/// Escapes `&`, `<` and `>` for XML and HTML text.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_draw_one_polyline_per_series_and_skip_bad_points() {
        let s = [
            Series { name: "a<b".into(), points: vec![(0.0, 1.0), (1.0, 0.5), (2.0, f64::NAN)] },
            Series { name: "c".into(), points: vec![(0.0, 0.0), (1.0, 2.0)] },
        ];
        let svg = line_chart("t", "x", "y", &s, true);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a&lt;b") && svg.ends_with("</svg>\n"));
        // The zero of series c is dropped on the log axis: it keeps one point.
        let c_line = svg.lines().filter(|l| l.starts_with("<polyline")).nth(1).unwrap();
        assert_eq!(c_line.matches(',').count(), 1, "{c_line}");
    }

    #[test]
    fn should_keep_log_ticks_on_powers_of_ten_over_many_decades() {
        let s = [Series { name: "r".into(), points: vec![(0.0, 1e-30), (1.0, 1e3)] }];
        let svg = line_chart("t", "x", "y", &s, true);
        let labels: Vec<&str> = svg.split(r#"text-anchor="end">"#).skip(1).map(|t| t.split('<').next().unwrap()).collect();
        assert_eq!(labels, ["1e-30", "1e-27", "1e-24", "1e-21", "1e-18", "1e-15", "1e-12", "1e-9", "1e-6", "1e-3", "1e0", "1e3"]);
    }

    #[test]
    fn should_say_when_there_is_no_data() {
        assert!(line_chart("t", "x", "y", &[], false).contains("no data"));
    }
}
