//! The report's figures: one function per SVG, each a line chart over replay days drawn with
//! plotters from the report's data.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::data::ReportData;
use crate::sandbox::usd;

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

const BLUE: RGBColor = RGBColor(30, 110, 200);
const ORANGE: RGBColor = RGBColor(230, 120, 20);
const GREY: RGBColor = RGBColor(120, 120, 120);
const GREEN: RGBColor = RGBColor(40, 150, 70);

/// Draws one figure into the SVG file at the path.
type Draw = fn(&Path, &ReportData) -> anyhow::Result<()>;

/// The figures in the report's order: the heading each has in the report, its file name in the
/// output directory, and its drawing.
pub(super) const FIGURES: [(&str, &str, Draw); 7] = [
    ("LP share value", "pool_value.svg", figure_pool_value),
    ("LP capital", "lp_capital.svg", figure_lp_capital),
    ("Imbalance Score", "imbalance_score.svg", figure_imbalance),
    (
        "Premiums, rebates and fees",
        "premiums.svg",
        figure_premiums,
    ),
    ("Liquidations", "liquidations.svg", figure_liquidations),
    (
        "Where the LP result came from",
        "lp_attribution.svg",
        figure_attribution,
    ),
    (
        "Collateral pool weight against delta",
        "crp_weight_delta.svg",
        figure_crp_weight_delta,
    ),
];

/// Draw every figure into `out`; their paths, in the report's order.
pub(super) fn draw_all(out: &Path, d: &ReportData) -> anyhow::Result<Vec<PathBuf>> {
    FIGURES
        .iter()
        .map(|(_, file, draw)| {
            let path = out.join(file);
            draw(&path, d)?;
            Ok(path)
        })
        .collect()
}

fn figure_pool_value(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    line_chart(
        path,
        "LP share value (1 = start) and LP capital",
        "share value",
        &[Line::new(
            "LP share value (withdrawal valuation)",
            BLUE,
            &d.share,
        )],
        &[],
    )
}

fn figure_lp_capital(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    line_chart(
        path,
        "LP capital",
        "million USD",
        &[Line::new("LP capital", GREEN, &d.lp_capital)],
        &[],
    )
}

fn figure_imbalance(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    let limit = format!("limit ({} bps of LP capital)", d.max_is_bps);
    line_chart(
        path,
        "Imbalance Score √(Kᵀ R K) after each day",
        "USD (one-day σ of pool PnL)",
        &[
            Line::new("Imbalance Score", BLUE, &d.is),
            Line::new(limit, GREY, &d.limit),
        ],
        &[],
    )
}

fn figure_premiums(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    line_chart(
        path,
        "Cumulative premiums charged, rebates paid and fees",
        "USD",
        &[
            Line::new("premiums charged", ORANGE, &d.charged),
            Line::new("rebates paid", GREEN, &d.rebated),
            Line::new("fees", GREY, &d.fees),
        ],
        &[],
    )
}

fn figure_liquidations(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    line_chart(
        path,
        "Cumulative liquidations and bad debt",
        "count / USD",
        &[
            Line::new("liquidations", ORANGE, &d.liq_count),
            Line::new("bad debt (USD)", BLUE, &d.bad_debt),
        ],
        &[],
    )
}

/// Per market, the LP result's parts stacked (gains up, losses down) and the result as a dot.
fn figure_attribution(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    let total = d.attribution_total();
    let mut rows: Vec<(String, super::data::Attribution)> = d
        .setup_markets
        .iter()
        .cloned()
        .zip(d.attribution.iter().copied())
        .collect();
    rows.push(("all".into(), total));
    let parts = |a: &super::data::Attribution| -> [f64; 7] {
        [
            a.fees,
            a.funding,
            a.premiums_kept,
            a.realized,
            a.bad_debt,
            a.default_fund_cover,
            a.unrealized,
        ]
        .map(|v| usd(v) / 1e6)
    };
    const NAMES: [&str; 7] = [
        "fees",
        "funding",
        "premiums kept",
        "traders' realised PnL",
        "bad debt",
        "default fund cover",
        "traders' unrealised PnL",
    ];
    const COLORS: [RGBColor; 7] = [
        BLUE,
        GREEN,
        RGBColor(150, 90, 200),
        ORANGE,
        RGBColor(200, 40, 40),
        GREY,
        RGBColor(240, 190, 40),
    ];
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, a) in &rows {
        let p = parts(a);
        hi = hi.max(p.iter().filter(|v| **v > 0.0).sum());
        lo = lo.min(p.iter().filter(|v| **v < 0.0).sum());
    }
    let pad = (hi - lo).max(1e-6) * 0.05;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let labels: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
    let n = rows.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Where the LP result came from (million USD)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (lo - pad)..(hi + pad))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].replace("-PERP", "")
            } else {
                String::new()
            }
        })
        .y_desc("million USD")
        .draw()
        .map_err(plot_err)?;
    for (k, (name, color)) in NAMES.iter().zip(COLORS).enumerate() {
        let mut bars = vec![];
        for (i, (_, a)) in rows.iter().enumerate() {
            let p = parts(a);
            let v = p[k];
            // stack on the parts before it of the same sign
            let base: f64 = p[..k].iter().filter(|x| x.signum() == v.signum()).sum();
            let x = i as f64;
            bars.push(Rectangle::new(
                [(x - 0.35, base), (x + 0.35, base + v)],
                color.filled(),
            ));
        }
        chart
            .draw_series(bars)
            .map_err(plot_err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .draw_series(
            rows.iter().enumerate().map(|(i, (_, a))| {
                Circle::new((i as f64, usd(a.total()) / 1e6), 4, BLACK.filled())
            }),
        )
        .map_err(plot_err)?
        .label("LP result")
        .legend(|(x, y)| Circle::new((x + 5, y), 4, BLACK.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperMiddle)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

fn figure_crp_weight_delta(path: &Path, d: &ReportData) -> anyhow::Result<()> {
    line_chart(
        path,
        "Collateral pools: risky weight against Black–Scholes delta (red: flight to quality)",
        "weight",
        &[
            Line::new("risky weight (EMA)", BLUE, &d.weight),
            Line::new("delta Φ(d1)", GREY, &d.delta),
        ],
        &d.conversions,
    )
}

/// A line: its legend, colour and points (replay day, value).
struct Line<'a> {
    name: String,
    color: RGBColor,
    points: &'a [(f64, f64)],
}

impl<'a> Line<'a> {
    fn new(name: impl Into<String>, color: RGBColor, points: &'a [(f64, f64)]) -> Self {
        Line {
            name: name.into(),
            color,
            points,
        }
    }
}

/// The lines' last day (at least 1) and their value range, padded by 5 %; (0, 1) with no points,
/// ±1 around a constant.
fn extent(lines: &[Line]) -> (f64, f64, f64) {
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (x_max, lo, hi) = all.fold((1.0f64, f64::MAX, f64::MIN), |(x, lo, hi), &(px, py)| {
        (x.max(px), lo.min(py), hi.max(py))
    });
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if (hi - lo).abs() < 1e-12 {
        (lo - 1.0, hi + 1.0)
    } else {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    };
    (x_max, lo, hi)
}

/// A chart of lines over replay days, with optional vertical markers (days).
fn line_chart(
    path: &Path,
    title: &str,
    y_desc: &str,
    lines: &[Line],
    markers: &[f64],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let (x_max, lo, hi) = extent(lines);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, lo..hi)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("replay day")
        .y_desc(y_desc)
        .draw()
        .map_err(plot_err)?;
    for &m in markers {
        chart
            .draw_series(LineSeries::new([(m, lo), (m, hi)], RED.mix(0.5)))
            .map_err(plot_err)?;
    }
    for l in lines {
        let color = l.color;
        chart
            .draw_series(LineSeries::new(
                l.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(l.name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
