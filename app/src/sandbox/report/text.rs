//! The report's page: Markdown, one function per section, and the same as standalone HTML.

use std::fmt::{Result, Write as _};

use crate::sandbox::events::Totals;
use crate::sandbox::prices::Replay;
use crate::sandbox::usd;

use super::data::ReportData;
use super::figures::FIGURES;

/// The report as Markdown.
pub(super) fn markdown(
    d: &ReportData,
    totals: &Totals,
    replay: &Replay,
    seconds: f64,
) -> anyhow::Result<String> {
    let mut md = String::new();
    heading(&mut md, replay, seconds)?;
    prices(&mut md, d)?;
    summary(&mut md, d, totals)?;
    markets(&mut md, d)?;
    attribution(&mut md, d)?;
    market_hours(&mut md, d)?;
    hunter(&mut md, d)?;
    figures(&mut md)?;
    collateral_pools(&mut md, d)?;
    writeln!(
        md,
        "\nEvery figure and table above is computed from `events.json` (the event log) alone."
    )?;
    Ok(md)
}

fn heading(md: &mut String, replay: &Replay, seconds: f64) -> Result {
    let first = replay.dates.first().cloned().unwrap_or_default();
    let last = replay.dates.last().cloned().unwrap_or_default();
    writeln!(md, "# Keel sandbox report\n")?;
    writeln!(
        md,
        "{} replay days, {first} to {last}, both programs on the embedded runtime \
         (solana-program-test, real SPL Token), {seconds:.1} s.\n",
        replay.dates.len()
    )
}

fn prices(md: &mut String, d: &ReportData) -> Result {
    writeln!(md, "## Prices\n\n| market | source |\n|---|---|")?;
    for (m, s) in d.setup_markets.iter().zip(&d.setup_sources) {
        writeln!(md, "| {m} | {s} |")?;
    }
    Ok(())
}

fn summary(md: &mut String, d: &ReportData, totals: &Totals) -> Result {
    writeln!(md, "\n## Summary\n\n| | |\n|---|---:|")?;
    for (k, v) in summary_rows(d, totals) {
        writeln!(md, "| {k} | {v} |")?;
    }
    Ok(())
}

/// The summary table: label, value.
fn summary_rows(d: &ReportData, totals: &Totals) -> [(&'static str, String); 17] {
    let last_share = d.share.last().map(|p| p.1).unwrap_or(1.0);
    let peak_is = d.is.iter().map(|p| p.1).fold(0.0, f64::max);
    let dollars = |native: u64| format!("{:.2}", usd(native as i128));
    [
        ("fills", totals.fills.to_string()),
        ("trades refused by the program", totals.refused.to_string()),
        (
            "requests placed / executed / refused / cancelled / cleared",
            format!(
                "{} / {} / {} / {} / {}",
                totals.requests_placed,
                totals.requests_executed,
                totals.requests_refused,
                totals.requests_cancelled,
                totals.requests_cleared
            ),
        ),
        (
            "keeper fees (SOL)",
            format!("{:.4}", totals.keeper_fees as f64 / 1e9),
        ),
        ("premiums charged (USD)", dollars(totals.premiums_charged)),
        ("rebates paid (USD)", dollars(totals.rebates_paid)),
        ("fees (USD)", dollars(totals.fees)),
        ("funding paid (USD)", dollars(totals.funding_paid)),
        ("liquidations", totals.liquidations.to_string()),
        ("keeper rewards (USD)", dollars(totals.keeper_rewards)),
        ("bad debt (USD)", dollars(totals.bad_debt)),
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
    ]
}

fn markets(md: &mut String, d: &ReportData) -> Result {
    writeln!(
        md,
        "\n## Markets\n\n| market | fills | premiums (USD) | rebates (USD) | fees (USD) | liquidations | refused |\n|---|---:|---:|---:|---:|---:|---:|"
    )?;
    for (m, row) in &d.markets {
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
    Ok(())
}

/// Where the LP result came from, per market, summing to the LP value at the end less the LPs'
/// net deposits, to the cent.
fn attribution(md: &mut String, d: &ReportData) -> Result {
    let total = d.attribution_total();
    let result = d.final_pool_value - d.net_deposits;
    writeln!(
        md,
        "\n## Where the LP result came from\n\n\
         The LP result is the LP value at the end (LP capital less traders' unrealised PnL, as a \
         withdrawal values it) less what LPs put in net: {:.2} − {:.2} = **{:.2}**. Each fill's \
         cash to and from LP capital is logged part by part (the desk checks every day that the \
         parts account for LP capital to the native unit); the last column adds the traders' \
         unrealised PnL at the end. Premiums charged and rebates pass through the markets' \
         premium balances: the LPs keep what closed positions paid and did not get back. \
         Keepers' liquidation rewards come from the collateral or the default fund, not LP \
         capital.\n",
        usd(d.final_pool_value),
        usd(d.net_deposits),
        usd(result)
    )?;
    writeln!(
        md,
        "| market | fees | funding | premiums kept | traders' realised PnL | bad debt | default fund cover | traders' unrealised PnL | LP result | memo: premiums charged | memo: rebates | memo: keeper rewards |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    let row = |md: &mut String, name: &str, a: &super::data::Attribution| {
        writeln!(
            md,
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            usd(a.fees),
            usd(a.funding),
            usd(a.premiums_kept),
            usd(a.realized),
            usd(a.bad_debt),
            usd(a.default_fund_cover),
            usd(a.unrealized),
            usd(a.total()),
            usd(a.premiums_charged),
            usd(a.rebates),
            usd(a.keeper_rewards),
        )
    };
    for (name, a) in d.setup_markets.iter().zip(&d.attribution) {
        row(md, name, a)?;
    }
    row(md, "**all markets**", &total)?;
    writeln!(
        md,
        "\nIn native units the parts sum to {:.2} and the LP result is {:.2}: {} (each figure \
         above is rounded to the cent on its own, so a row or a column may differ by a cent).",
        usd(total.total()),
        usd(result),
        if total.total() == result {
            "equal to the native unit"
        } else {
            "THEY DIFFER"
        }
    )?;
    if total.profit_from_default_fund > 0 {
        writeln!(
            md,
            "Profits the default fund paid once LP capital was empty: {:.2}.",
            usd(total.profit_from_default_fund)
        )?;
    }
    Ok(())
}

/// What the arbitrageur who takes rebates when they pay got.
fn hunter(md: &mut String, d: &ReportData) -> Result {
    let h = &d.hunter;
    writeln!(
        md,
        "\n## The rebate hunter\n\n\
         An arbitrageur, as D8X expects of its traders: each day, in every market whose net open \
         interest is worth more than 1 % of LP capital, it quotes an open of half the skew \
         against it (at most 1M, 5x) and opens if the quote charges no premium; holding one, it \
         closes when the close is refunded or free, or after 20 days whatever it costs.\n\n\
         | opens | closes | liquidated | premiums paid | rebates received | fees | funding paid | realised PnL |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
        h.opens,
        h.closes,
        h.liquidated,
        usd(h.premiums as i128),
        usd(h.rebates as i128),
        usd(h.fees as i128),
        usd(h.funding as i128),
        usd(h.realized),
    )?;
    writeln!(
        md,
        "Rebates refund only premiums a position paid, so the hunter's rebates are at most its \
         premiums: {}.",
        if h.rebates <= h.premiums {
            "they are"
        } else {
            "THEY ARE NOT"
        }
    )
}

fn figures(md: &mut String) -> Result {
    writeln!(md, "\n## Figures\n")?;
    for (title, file, _) in &FIGURES {
        writeln!(md, "![{title}]({file})\n")?;
    }
    Ok(())
}

/// Markets that keep hours: closed days, the keeper's cuts before long closes, liquidations at
/// the reopen, LP flows while closed, and the operator's holidays.
fn market_hours(md: &mut String, d: &ReportData) -> Result {
    if d.hours.is_empty() {
        return Ok(());
    }
    writeln!(
        md,
        "\n## Market hours\n\n\
         FX, gold and oil keep their exchanges' hours (weekends, holidays, CME's daily hour): \
         while closed their feeds are silent, nothing fills or is liquidated on them, and LPs \
         are valued at the last price moved against the pool by the gap allowance. In the \
         hour before a long close the keeper cuts positions above the leverage held over a \
         close; at the reopen it liquidates what the gap took under.\n\n\
         | market | days closed (daily snapshot) | cuts before a close | notional cut (USD) | \
         liquidations at the reopen | their bad debt (USD) |\n|---|---:|---:|---:|---:|---:|"
    )?;
    for (m, h) in &d.hours {
        writeln!(
            md,
            "| {m} | {} | {} | {:.2} | {} | {:.2} |",
            h.closed_days,
            h.cuts,
            usd(h.cut_notional as i128),
            h.reopen_liquidations,
            usd(h.reopen_bad_debt as i128)
        )?;
    }
    let l = &d.lp_while_closed;
    writeln!(
        md,
        "\nLP flows executed while a market with open interest was closed: {} deposits \
         ({:.2} USD), {} withdrawals ({:.2} USD).",
        l.deposits,
        usd(l.deposited as i128),
        l.withdrawals,
        usd(l.withdrawn as i128)
    )?;
    if !d.holidays.is_empty() {
        writeln!(
            md,
            "\nHolidays the operator announced (`set_schedule`, a day of open time ahead):\n\n\
             | announced | schedule | holidays |\n|---|---|---|"
        )?;
        for (date, schedule, days) in &d.holidays {
            writeln!(md, "| {date} | {schedule} | {} |", days.join(", "))?;
        }
    }
    Ok(())
}

fn collateral_pools(md: &mut String, d: &ReportData) -> Result {
    writeln!(
        md,
        "## Collateral pools\n\n| date | pool | event |\n|---|---|---|"
    )?;
    for row in &d.crp_rows {
        writeln!(md, "{row}")?;
    }
    Ok(())
}

/// The report's Markdown subset (headings, tables, images, paragraphs) as a standalone page.
pub(super) fn markdown_to_html(md: &str) -> String {
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
