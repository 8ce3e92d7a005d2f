//! The sandbox's report: figures (SVG) and a Markdown or HTML page, computed from the event log
//! alone, and the log itself as JSON.
//!
//! [`write`] reads the log once into a [`ReportData`] (every series and table), draws each figure
//! from it ([`figures`]), and renders the page ([`text`]).

mod data;
mod figures;
mod text;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::sandbox::events::{Event, Totals};
use crate::sandbox::prices::Replay;

use data::ReportData;

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

    let data = ReportData::of(events);
    let (parts, result) = (
        data.attribution_total().total(),
        data.final_pool_value - data.net_deposits,
    );
    anyhow::ensure!(
        parts == result,
        "the LP result's parts sum to {parts}, the LP result is {result}"
    );
    let figures = figures::draw_all(out, &data)?;
    let md = text::markdown(&data, &Totals::of(events), replay, seconds)?;
    let report = match format {
        Format::Md => {
            let p = out.join("report.md");
            std::fs::write(&p, &md)?;
            p
        }
        Format::Html => {
            let p = out.join("report.html");
            std::fs::write(&p, text::markdown_to_html(&md))?;
            p
        }
    };
    Ok(Written {
        report,
        events: events_path,
        figures,
    })
}
