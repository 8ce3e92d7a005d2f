//! The sandbox's report: figures (SVG) and a Markdown or HTML page, computed from the event log
//! alone, and the log itself as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::prelude::*;

use crate::sandbox::events::{Event, Totals, What};
use crate::sandbox::prices::Replay;
use crate::sandbox::usd;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Html,
}

/// The files written.
pub struct Written {
    pub report: PathBuf,
    pub events: PathBuf,
    pub figures: Vec<PathBuf>,
}

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

const BLUE: RGBColor = RGBColor(30, 110, 200);
const ORANGE: RGBColor = RGBColor(230, 120, 20);
const GREY: RGBColor = RGBColor(120, 120, 120);
const GREEN: RGBColor = RGBColor(40, 150, 70);

/// A line: its legend, colour and points (replay day, value).
struct Line {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
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

/// Per-market counts for the report's table.
#[derive(Default)]
struct MarketRow {
    fills: u64,
    premiums: u64,
    rebates: u64,
    fees: u64,
    liquidations: u64,
    refused: u64,
}

/// Write the event log, the figures and the report into `out`.
pub fn write(
    out: &Path,
    format: Format,
    events: &[Event],
    replay: &Replay,
    seconds: f64,
) -> anyhow::Result<Written> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let events_path = out.join("events.json");
    std::fs::write(&events_path, serde_json::to_string_pretty(events)? + "\n")?;

    let (mut share, mut lp_capital, mut is, mut limit) = (vec![], vec![], vec![], vec![]);
    let (mut charged, mut rebated, mut fees) = (vec![], vec![], vec![]);
    let (mut liq_count, mut bad_debt) = (vec![], vec![]);
    let (mut weight, mut delta, mut conversions, mut btc) = (vec![], vec![], vec![], vec![]);
    let (mut c, mut r, mut f, mut n_liq, mut bd) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut first_share = None;
    let mut max_is_bps = 0u32;
    let mut markets: BTreeMap<String, MarketRow> = BTreeMap::new();
    let mut crp_rows: Vec<String> = vec![];
    let mut setup_sources = vec![];
    let mut setup_markets = vec![];
    for e in events {
        let x = e.day as f64;
        match &e.what {
            What::Setup {
                markets,
                sources,
                max_imbalance_bps,
                ..
            } => {
                max_is_bps = *max_imbalance_bps;
                setup_markets = markets.clone();
                setup_sources = sources.clone();
            }
            What::Fill {
                market,
                premium,
                fees: fee,
                ..
            } => {
                let row = markets.entry(market.clone()).or_default();
                row.fills += 1;
                row.fees += fee;
                if *premium >= 0 {
                    c += *premium as u64;
                    row.premiums += *premium as u64;
                } else {
                    r += premium.unsigned_abs();
                    row.rebates += premium.unsigned_abs();
                }
                f += fee;
            }
            What::Refused { market, .. } => {
                markets.entry(market.clone()).or_default().refused += 1;
            }
            What::Liquidation {
                market,
                bad_debt: b,
                ..
            } => {
                markets.entry(market.clone()).or_default().liquidations += 1;
                n_liq += 1;
                bd += b;
            }
            What::CrpRebalance {
                price,
                delta_e9,
                weight_e9,
                ..
            } => {
                weight.push((x, *weight_e9 as f64 / 1e9));
                delta.push((x, *delta_e9 as f64 / 1e9));
                btc.push((x, *price));
            }
            What::CrpConversion {
                pool,
                price,
                ltv_bps,
            } => {
                conversions.push(x);
                crp_rows.push(format!(
                    "| {} | {pool} | flight to quality at {price:.0}, LTV {:.1} % |",
                    e.date,
                    *ltv_bps as f64 / 100.0
                ));
            }
            What::CrpOpened {
                pool,
                strike,
                lent,
                borrowed,
                collateral_risky,
                ..
            } => crp_rows.push(format!(
                "| {} | {pool} | opened at strike {strike:.0}: {:.0} lent, {:.0} borrowed against {:.1} BTC |",
                e.date,
                usd(*lent as i128),
                usd(*borrowed as i128),
                *collateral_risky as f64 / 1e8
            )),
            What::CrpSettled {
                pool,
                price,
                lender_paid,
                lender_face,
                borrower_risky,
                borrower_riskless,
            } => crp_rows.push(format!(
                "| {} | {pool} | settled at {price:.0}: lenders paid {:.2} of {:.2} face; borrowers got {:.4} BTC and {:.2} USD |",
                e.date,
                usd(*lender_paid as i128),
                usd(*lender_face as i128),
                *borrower_risky as f64 / 1e8,
                usd(*borrower_riskless as i128)
            )),
            What::Day {
                pool_value,
                lp_supply,
                lp_capital: cap,
                imbalance_score,
                ..
            } => {
                let s = *pool_value as f64 / *lp_supply as f64;
                let first = *first_share.get_or_insert(s);
                share.push((x, s / first));
                lp_capital.push((x, usd(*cap as i128) / 1e6));
                is.push((x, *imbalance_score as f64 / 1e3));
                limit.push((x, usd(*cap as i128) * max_is_bps as f64 / 1e4));
                charged.push((x, usd(c as i128)));
                rebated.push((x, usd(r as i128)));
                fees.push((x, usd(f as i128)));
                liq_count.push((x, n_liq as f64));
                bad_debt.push((x, usd(bd as i128)));
            }
            _ => {}
        }
    }

    let mut figures = vec![];
    let mut figure = |name: &str,
                      title: &str,
                      y: &str,
                      lines: Vec<Line>,
                      markers: &[f64]|
     -> anyhow::Result<String> {
        let path = out.join(name);
        line_chart(&path, title, y, &lines, markers)?;
        figures.push(path);
        Ok(name.to_string())
    };
    let f_value = figure(
        "pool_value.svg",
        "LP share value (1 = start) and LP capital",
        "share value",
        vec![Line {
            name: "LP share value (withdrawal valuation)".into(),
            color: BLUE,
            points: share.clone(),
        }],
        &[],
    )?;
    let f_capital = figure(
        "lp_capital.svg",
        "LP capital",
        "million USD",
        vec![Line {
            name: "LP capital".into(),
            color: GREEN,
            points: lp_capital,
        }],
        &[],
    )?;
    let f_is = figure(
        "imbalance_score.svg",
        "Imbalance Score √(Kᵀ R K) after each day",
        "USD (one-day σ of pool PnL)",
        vec![
            Line {
                name: "Imbalance Score".into(),
                color: BLUE,
                points: is.clone(),
            },
            Line {
                name: format!("limit ({max_is_bps} bps of LP capital)"),
                color: GREY,
                points: limit,
            },
        ],
        &[],
    )?;
    let f_prem = figure(
        "premiums.svg",
        "Cumulative premiums charged, rebates paid and fees",
        "USD",
        vec![
            Line {
                name: "premiums charged".into(),
                color: ORANGE,
                points: charged,
            },
            Line {
                name: "rebates paid".into(),
                color: GREEN,
                points: rebated,
            },
            Line {
                name: "fees".into(),
                color: GREY,
                points: fees,
            },
        ],
        &[],
    )?;
    let f_liq = figure(
        "liquidations.svg",
        "Cumulative liquidations and bad debt",
        "count / USD",
        vec![
            Line {
                name: "liquidations".into(),
                color: ORANGE,
                points: liq_count,
            },
            Line {
                name: "bad debt (USD)".into(),
                color: BLUE,
                points: bad_debt,
            },
        ],
        &[],
    )?;
    let f_crp = figure(
        "crp_weight_delta.svg",
        "Collateral pools: risky weight against Black–Scholes delta (red: flight to quality)",
        "weight",
        vec![
            Line {
                name: "risky weight (EMA)".into(),
                color: BLUE,
                points: weight,
            },
            Line {
                name: "delta Φ(d1)".into(),
                color: GREY,
                points: delta,
            },
        ],
        &conversions,
    )?;

    let totals = Totals::of(events);
    let last_share = share.last().map(|p| p.1).unwrap_or(1.0);
    let peak_is = is.iter().map(|p| p.1).fold(0.0, f64::max);
    let mut md = String::new();
    let first = replay.dates.first().cloned().unwrap_or_default();
    let last = replay.dates.last().cloned().unwrap_or_default();
    writeln!(md, "# Keel sandbox report\n")?;
    writeln!(
        md,
        "{} replay days, {first} to {last}, both programs on the embedded runtime \
         (solana-program-test, real SPL Token), {seconds:.1} s.\n",
        replay.dates.len()
    )?;
    writeln!(md, "## Prices\n\n| market | source |\n|---|---|")?;
    for (m, s) in setup_markets.iter().zip(&setup_sources) {
        writeln!(md, "| {m} | {s} |")?;
    }
    writeln!(md, "\n## Summary\n\n| | |\n|---|---:|")?;
    let rows = [
        ("fills", totals.fills.to_string()),
        ("trades refused by the program", totals.refused.to_string()),
        (
            "premiums charged (USD)",
            format!("{:.2}", usd(totals.premiums_charged as i128)),
        ),
        (
            "rebates paid (USD)",
            format!("{:.2}", usd(totals.rebates_paid as i128)),
        ),
        ("fees (USD)", format!("{:.2}", usd(totals.fees as i128))),
        (
            "funding paid (USD)",
            format!("{:.2}", usd(totals.funding_paid as i128)),
        ),
        ("liquidations", totals.liquidations.to_string()),
        (
            "keeper rewards (USD)",
            format!("{:.2}", usd(totals.keeper_rewards as i128)),
        ),
        (
            "bad debt (USD)",
            format!("{:.2}", usd(totals.bad_debt as i128)),
        ),
        (
            "risk model publications",
            totals.risk_publications.to_string(),
        ),
        ("LP share value, end / start", format!("{last_share:.4}")),
        ("peak Imbalance Score (USD)", format!("{peak_is:.0}")),
        ("collateral pools", totals.crp_pools.to_string()),
        (
            "collateral pool rebalances",
            totals.crp_rebalances.to_string(),
        ),
        ("flights to quality", totals.crp_conversions.to_string()),
    ];
    for (k, v) in rows {
        writeln!(md, "| {k} | {v} |")?;
    }
    writeln!(
        md,
        "\n## Markets\n\n| market | fills | premiums (USD) | rebates (USD) | fees (USD) | liquidations | refused |\n|---|---:|---:|---:|---:|---:|---:|"
    )?;
    for (m, row) in &markets {
        if m == "-" {
            continue;
        }
        writeln!(
            md,
            "| {m} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            row.fills,
            usd(row.premiums as i128),
            usd(row.rebates as i128),
            usd(row.fees as i128),
            row.liquidations,
            row.refused
        )?;
    }
    writeln!(md, "\n## Figures\n")?;
    for (title, f) in [
        ("LP share value", &f_value),
        ("LP capital", &f_capital),
        ("Imbalance Score", &f_is),
        ("Premiums, rebates and fees", &f_prem),
        ("Liquidations", &f_liq),
        ("Collateral pool weight against delta", &f_crp),
    ] {
        writeln!(md, "![{title}]({f})\n")?;
    }
    writeln!(
        md,
        "## Collateral pools\n\n| date | pool | event |\n|---|---|---|"
    )?;
    for row in &crp_rows {
        writeln!(md, "{row}")?;
    }
    writeln!(
        md,
        "\nEvery figure and table above is computed from `events.json` (the event log) alone."
    )?;
    let report = match format {
        Format::Md => {
            let p = out.join("report.md");
            std::fs::write(&p, &md)?;
            p
        }
        Format::Html => {
            let p = out.join("report.html");
            std::fs::write(&p, markdown_to_html(&md))?;
            p
        }
    };
    Ok(Written {
        report,
        events: events_path,
        figures,
    })
}

/// The report's Markdown subset (headings, tables, images, paragraphs) as a standalone page.
fn markdown_to_html(md: &str) -> String {
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Keel sandbox report</title>\
         <style>body{font-family:sans-serif;max-width:960px;margin:2em auto}\
         table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}</style>\
         </head><body>\n",
    );
    let mut in_table = false;
    for line in md.lines() {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        if line.starts_with('|') {
            if line.starts_with("|---") {
                continue;
            }
            if !in_table {
                html.push_str("<table>\n");
                in_table = true;
            }
            let cells: Vec<&str> = escaped.trim_matches('|').split('|').collect();
            html.push_str("<tr>");
            for c in cells {
                let _ = write!(html, "<td>{}</td>", c.trim());
            }
            html.push_str("</tr>\n");
            continue;
        }
        if in_table {
            html.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(html, "<h2>{h}</h2>");
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(html, "<h1>{h}</h1>");
        } else if let Some(rest) = line.strip_prefix("![") {
            if let Some((alt, src)) = rest.split_once("](") {
                let _ = writeln!(
                    html,
                    "<p><img alt=\"{alt}\" src=\"{}\"></p>",
                    src.trim_end_matches(')')
                );
            }
        } else if !line.trim().is_empty() {
            let _ = writeln!(html, "<p>{escaped}</p>");
        }
    }
    if in_table {
        html.push_str("</table>\n");
    }
    html.push_str("</body></html>\n");
    html
}
