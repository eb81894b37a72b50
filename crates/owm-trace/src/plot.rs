//! SVG charts of a trace, drawn with `plotters` (SVG backend only: no font or bitmap stack), viewable in any
//! browser and inlined into `report.html`.

use std::collections::BTreeMap;
use std::ops::Range;

use owm_core::TraceEvent;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::Trace;

/// One named line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points `(x, y)`; non-finite points (and non-positive ones on a log axis) are skipped.
    pub points: Vec<(f64, f64)>,
}

const SIZE: (u32, u32) = (760, 400);
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Draws with `draw` into an SVG document; a drawing error becomes a chart that says so.
fn svg(title: &str, draw: impl FnOnce(&Area<'_>) -> Drawn) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root).map_err(|e| e.to_string()))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    match result {
        Ok(()) => out,
        Err(e) => message_svg(title, &format!("chart could not be drawn: {e}")),
    }
}

fn message_svg(title: &str, message: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="{x}" y="24" text-anchor="middle" font-size="16">{}</text><text x="{x}" y="{y}" text-anchor="middle">{}</text></svg>
"#,
        escape(title),
        escape(message),
        w = SIZE.0,
        h = SIZE.1,
        x = SIZE.0 / 2,
        y = SIZE.1 / 2
    )
}

/// The range of `values` (padded when empty or flat).
fn span(values: impl Iterator<Item = f64>) -> Option<Range<f64>> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.5 };
    Some(if hi > lo { lo..hi } else { lo - pad..hi + pad })
}

/// Renders a line chart as an SVG document (log-scaled y when `log_y`).
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], log_y: bool) -> String {
    let keep = |&&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let kept: Vec<(String, Vec<(f64, f64)>)> = series.iter().map(|s| (s.name.clone(), decimate(s.points.iter().filter(keep).copied().collect()))).collect();
    let all = || kept.iter().flat_map(|(_, p)| p.iter());
    let (Some(xs), Some(ys)) = (span(all().map(|p| p.0)), span(all().map(|p| p.1))) else {
        return message_svg(title, "no data");
    };
    svg(title, |root| {
        let mut builder = ChartBuilder::on(root);
        builder.caption(title, ("sans-serif", 17)).margin(12).x_label_area_size(38).y_label_area_size(72);
        let labelled = kept.iter().filter(|(_, p)| !p.is_empty()).count() > 1;
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart.configure_mesh().x_desc(x_label).y_desc(y_label).x_label_formatter(&|v| tick(*v)).light_line_style(RGBColor(235, 235, 235)).draw()?;
                for (i, (name, points)) in kept.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    let drawn = chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?;
                    drawn.label(name.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
                }
                if labelled {
                    chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).position(SeriesLabelPosition::UpperRight).draw()?;
                }
            }};
        }
        if log_y {
            let ys = ys.start * 0.9..ys.end * 1.1;
            finish!(builder.build_cartesian_2d(xs.clone(), ys.log_scale())?);
        } else {
            finish!(builder.build_cartesian_2d(xs.clone(), ys.clone())?);
        }
        Ok(())
    })
}

/// A heatmap of `values[row][column]` (NaN cells left white) with labelled rows, columns spanning `x`
/// (a step range) or labelled by `column_labels`.
pub fn heatmap(title: &str, x_label: &str, rows: &[String], column_labels: Option<&[String]>, x: Range<f64>, values: &[Vec<f64>], legend: &str) -> String {
    let finite = || values.iter().flatten().copied().filter(|v| v.is_finite());
    let Some(range) = span(finite()) else { return message_svg(title, "no data") };
    let columns = values.iter().map(Vec::len).max().unwrap_or(0);
    if rows.is_empty() || columns == 0 {
        return message_svg(title, "no data");
    }
    let width = (x.end - x.start) / columns as f64;
    svg(title, |root| {
        let (plot, key) = root.split_horizontally(SIZE.0 - 110);
        let longest = rows.iter().map(String::len).max().unwrap_or(4) as u32;
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(if column_labels.is_some() { 60 } else { 38 })
            .y_label_area_size((longest * 7 + 12).min(200))
            .build_cartesian_2d(x.clone(), 0.0..rows.len() as f64)?;
        // Row 0 is drawn at the top.
        let row_label = |v: &f64| rows.len().checked_sub(1 + v.floor() as usize).and_then(|i| rows.get(i)).cloned().unwrap_or_default();
        let column_label = |v: &f64| match column_labels {
            Some(labels) => labels.get(((v - x.start) / width).floor() as usize).cloned().unwrap_or_default(),
            None => format!("{v:.0}"),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_labels(rows.len() * 2 + 1)
            .y_label_formatter(&|v| if (v.fract() - 0.5).abs() < 1e-9 { row_label(v) } else { String::new() })
            .x_labels(if column_labels.is_some() { columns * 2 + 1 } else { 8 })
            .x_label_formatter(&|v| {
                if column_labels.is_none() || ((v - x.start) / width).fract().abs() > 0.4 { column_label(v) } else { String::new() }
            })
            .draw()?;
        let (range, start) = (&range, x.start);
        let cells = values.iter().enumerate().flat_map(|(r, row)| {
            let top = (rows.len() - 1 - r) as f64;
            row.iter().enumerate().filter(|(_, v)| v.is_finite()).map(move |(c, &v)| {
                let x0 = start + c as f64 * width;
                Rectangle::new([(x0, top), (x0 + width, top + 1.0)], shade(v, range).filled())
            })
        });
        chart.draw_series(cells)?;
        draw_key(&key, range, legend)
    })
}

/// Points drawn per series at most: longer series keep the lowest and highest point of each stretch, so
/// spikes stay visible while a 10-epoch CIFAR-10 run's charts stay small.
const MAX_POINTS: usize = 2000;

fn decimate(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let chunk = points.len().div_ceil(MAX_POINTS / 2);
    points
        .chunks(chunk)
        .flat_map(|c| {
            let lo = c.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(c[0]);
            let hi = c.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(c[0]);
            if lo.0 <= hi.0 { [lo, hi] } else { [hi, lo] }
        })
        .collect()
}

/// A tick label: whole numbers without decimals.
fn tick(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

/// A colour from light yellow (low) to dark blue (high).
fn shade(v: f64, range: &Range<f64>) -> RGBColor {
    let t = if range.end > range.start { ((v - range.start) / (range.end - range.start)).clamp(0.0, 1.0) } else { 0.5 };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, 8.0), lerp(247.0, 48.0), lerp(188.0, 107.0))
}

fn draw_key(area: &Area<'_>, range: &Range<f64>, legend: &str) -> Drawn {
    let steps = 40;
    let (top, bottom, left) = (60, SIZE.1 as i32 - 60, 20);
    let height = f64::from(bottom - top) / f64::from(steps);
    for i in 0..steps {
        let v = range.end - (range.end - range.start) * f64::from(i) / f64::from(steps - 1);
        let y = top + (height * f64::from(i)) as i32;
        area.draw(&Rectangle::new([(left, y), (left + 18, y + height.ceil() as i32)], shade(v, range).filled()))?;
    }
    let style = ("sans-serif", 12).into_font();
    area.draw(&Text::new(format!("{:.3}", range.end), (left + 22, top), style.clone()))?;
    area.draw(&Text::new(format!("{:.3}", range.start), (left + 22, bottom - 10), style.clone()))?;
    area.draw(&Text::new(legend.to_string(), (4, top - 24), style))?;
    Ok(())
}

/// Events of one kind, as `(step, record)`.
fn generations(trace: &Trace) -> Vec<(f64, f64)> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Generation(g) => Some((g.step as f64, g.loss)),
            _ => None,
        })
        .collect()
}

/// A validation metric at the step of each validation.
fn validation(trace: &Trace, metric: &str) -> Series {
    let points = trace.validations().filter_map(|v| v.metrics.get(metric).map(|&m| (v.steps as f64, m))).collect();
    Series { name: format!("validation ({metric})"), points }
}

/// Training loss per step, mean loss per epoch (plotted at the epoch's last step), the validation loss (at
/// the step of each validation) and, for search methods, the loss of the weights held after each generation:
/// training and validation curves on one chart, where over-fitting shows as the two parting.
pub fn loss_chart(trace: &Trace) -> String {
    let steps = Series { name: "batch loss".into(), points: trace.steps().map(|s| (s.step as f64, s.loss)).collect() };
    let epochs = Series { name: "epoch mean".into(), points: trace.epochs().map(|r| (r.steps as f64, r.train_loss)).collect() };
    let search = Series { name: "search (held weights)".into(), points: generations(trace) };
    let series: Vec<Series> = [steps, epochs, validation(trace, "val_loss"), search].into_iter().filter(|s| !s.points.is_empty()).collect();
    let title = if trace.validations().next().is_some() { "Loss: training and validation" } else { "Training loss" };
    line_chart(title, "step", "loss", &series, true)
}

/// Training accuracy per epoch (plotted at the epoch's last step), when the task records one, and the
/// validation accuracy.
pub fn accuracy_chart(trace: &Trace) -> String {
    let points = trace.epochs().filter_map(|r| r.train_accuracy.map(|a| (r.steps as f64, a))).collect();
    let series: Vec<Series> =
        [Series { name: "training accuracy".into(), points }, validation(trace, "val_accuracy")].into_iter().filter(|s| !s.points.is_empty()).collect();
    line_chart("Accuracy per epoch", "step", "accuracy", &series, false)
}

/// Learning rate per step, of the default group and of each other parameter group.
pub fn lr_chart(trace: &Trace) -> String {
    let mut series = vec![Series { name: "default group".into(), points: trace.steps().map(|s| (s.step as f64, s.lr)).collect() }];
    for s in trace.steps() {
        for (group, lr) in &s.group_lrs {
            match series.iter_mut().find(|x| &x.name == group) {
                Some(x) => x.points.push((s.step as f64, *lr)),
                None => series.push(Series { name: group.clone(), points: vec![(s.step as f64, *lr)] }),
            }
        }
    }
    line_chart("Learning rate", "step", "learning rate", &series, false)
}

/// One per-parameter statistic of the step records, as one series per parameter.
pub fn layer_series(trace: &Trace, stat: fn(&owm_core::LayerStats) -> f64) -> Vec<Series> {
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    let mut series: Vec<Series> = Vec::new();
    for s in trace.steps() {
        for l in &s.layers {
            let i = *by_path.entry(l.path.clone()).or_insert_with(|| {
                series.push(Series { name: l.path.clone(), points: Vec::new() });
                series.len() - 1
            });
            series[i].points.push((s.step as f64, stat(l)));
        }
    }
    series
}

/// ‖w‖ per parameter over the steps.
pub fn weight_norm_chart(trace: &Trace) -> String {
    line_chart("Weight norm per parameter", "step", "‖w‖", &layer_series(trace, |l| l.weight_norm), true)
}

/// ‖g‖ per parameter over the steps.
pub fn grad_norm_chart(trace: &Trace) -> String {
    line_chart("Gradient norm per parameter", "step", "‖g‖", &layer_series(trace, |l| l.grad_norm), true)
}

/// Columns of a heatmap over steps.
const TIME_BINS: usize = 60;

/// log10 of ‖Δw‖/‖w‖ per parameter (rows) over time (columns: the median of each stretch of steps); about
/// −3 is the classic healthy range.
pub fn update_ratio_chart(trace: &Trace) -> String {
    let series = layer_series(trace, |l| l.update_ratio);
    let Some(xs) = span(series.iter().flat_map(|s| s.points.iter().map(|p| p.0))) else {
        return message_svg("Relative update size per parameter", "no per-parameter statistics in this trace");
    };
    let bins = TIME_BINS.min((xs.end - xs.start) as usize + 1).max(1);
    let x = xs.start..xs.end + 1.0;
    let width = (x.end - x.start) / bins as f64;
    let rows: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    let values: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            let mut cells: Vec<Vec<f64>> = vec![Vec::new(); bins];
            for &(step, r) in &s.points {
                if r.is_finite() && r > 0.0 {
                    cells[(((step - x.start) / width) as usize).min(bins - 1)].push(r.log10());
                }
            }
            cells.into_iter().map(|c| median(c).unwrap_or(f64::NAN)).collect()
        })
        .collect();
    heatmap("Relative update size per parameter, log10(‖Δw‖/‖w‖)", "step", &rows, None, x, &values, "log10 ratio")
}

/// The histograms of one parameter over time: columns are the recorded steps, rows value bins over the
/// whole range seen, colour the fraction of values in the bin.
pub fn histogram_chart(trace: &Trace, path: &str) -> String {
    let records: Vec<&owm_core::DistributionRecord> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Distribution(d) if d.path == path => Some(d),
            _ => None,
        })
        .collect();
    let title = format!("Values of {path} over time");
    let Some(range) = span(records.iter().flat_map(|d| [d.min, d.max])) else { return message_svg(&title, "no histograms") };
    const BINS: usize = 24;
    let bin_width = (range.end - range.start) / BINS as f64;
    // Rebin each record's counts onto the common bins (each source bin counted at its centre).
    let columns: Vec<Vec<f64>> = records
        .iter()
        .map(|d| {
            let mut col = vec![0.0; BINS];
            let total = d.counts.iter().sum::<u64>().max(1) as f64;
            let w = (d.max - d.min) / d.counts.len().max(1) as f64;
            for (i, &c) in d.counts.iter().enumerate() {
                let centre = d.min + w * (i as f64 + 0.5);
                let b = (((centre - range.start) / bin_width) as usize).min(BINS - 1);
                col[b] += c as f64 / total;
            }
            col
        })
        .collect();
    let rows: Vec<String> = (0..BINS).rev().map(|b| format!("{:.3}", range.start + bin_width * (b as f64 + 0.5))).collect();
    let values: Vec<Vec<f64>> = (0..BINS).rev().map(|b| columns.iter().map(|c| c[b]).collect()).collect();
    let labels: Vec<String> = records.iter().map(|d| d.step.to_string()).collect();
    let x = 0.0..records.len() as f64;
    heatmap(&title, "step", &rows, Some(&labels), x, &values, "fraction")
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
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
        // Series are drawn 2 px wide (axes and grid 1 px).
        let lines: Vec<&str> = svg.lines().filter(|l| l.starts_with("<polyline") && l.contains(r#"stroke-width="2""#)).collect();
        assert_eq!(lines.len(), 2, "{svg}");
        // Series c's zero is dropped on the log axis, a's NaN everywhere.
        assert_eq!(lines.iter().map(|l| l.matches(',').count()).collect::<Vec<_>>(), [2, 1]);
        assert!(svg.contains("a&lt;b") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn should_keep_the_extremes_of_long_series() {
        let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i), 1.0)).collect();
        points[4321].1 = 50.0;
        let kept = decimate(points);
        assert_eq!(kept.len(), MAX_POINTS);
        assert!(kept.contains(&(4321.0, 50.0)));
    }

    #[test]
    fn should_say_when_there_is_no_data() {
        assert!(line_chart("t", "x", "y", &[], false).contains("no data"));
    }

    #[test]
    fn should_draw_one_rectangle_per_finite_cell() {
        let rows = ["a".to_string(), "b".to_string()];
        let values = vec![vec![1.0, 2.0, f64::NAN], vec![3.0, 4.0, 5.0]];
        let svg = heatmap("h", "step", &rows, None, 0.0..3.0, &values, "v");
        // 5 cells and 40 colour-key swatches (plus the background).
        assert_eq!(svg.matches("<rect").count(), 5 + 40 + 1, "{svg}");
    }
}
