//! The default market set: five crypto and five real-world-asset perps, with parameters a
//! conservative operator would start from (migrations and the sandbox build on it).
//!
//! How the numbers are chosen:
//! - σ is the stdev of the daily log return (the pricing horizon is one day), rounded up from
//!   the 2021-09..2023-09 figures of shared/data/prices/STATS.md;
//! - the maintenance margin covers a 3σ move over ten minutes of liquidation latency,
//!   3·σ·√(10/1440): BTC 0.80 % < 1 %, ETH 1.0 % < 1.5 %, SOL 1.5 % < 2.5 %, XRP 1.25 % < 2.5 %,
//!   BNB 0.88 % < 2.5 %, EUR/GBP/JPY ≤ 0.18 % < 0.5 %, XAU 0.24 % < 1 %, WTI 0.65 % < 2.5 %;
//!   the initial margin 1/leverage is at least twice the maintenance margin;
//! - the capital share M/LP capital is larger for deep, low-σ markets; the shares add up to more
//!   than one because markets diversify each other (issue #5 bounds the combination);
//! - USD/JPY is listed as its inverse, JPY in USD (≈ 0.0067), so that every market is linear in
//!   the stablecoin: short JPY/USD is the economic equivalent of long USD/JPY.

use perp_amm::state::MarketParams;

pub struct MarketPreset {
    pub symbol: &'static str,
    /// A typical price, quote per base (whole units).
    pub price: f64,
    pub base_decimals: u8,
    pub params: MarketParams,
}

const E9: u64 = 1_000_000_000;

#[allow(clippy::too_many_arguments)]
fn market(
    symbol: &'static str,
    price: f64,
    base_decimals: u8,
    sigma_bps: u64,
    half_spread_bps: u64,
    fee_bps: u32,
    max_leverage: u32,
    maintenance_bps: u32,
    capital_share_pct: u64,
    funding_bps_per_day: u64,
    oi_cap_quote: f64,
) -> MarketPreset {
    let oi_cap = (oi_cap_quote / price * 10f64.powi(base_decimals as i32)) as u64;
    MarketPreset {
        symbol,
        price,
        base_decimals,
        params: MarketParams {
            max_age_open_secs: 30,
            max_age_close_secs: 300,
            max_conf_bps: 50,
            sigma_e9: sigma_bps * E9 / 10_000,
            half_spread_e9: half_spread_bps * E9 / 10_000,
            open_fee_bps: fee_bps,
            close_fee_bps: fee_bps,
            max_leverage,
            maintenance_margin_bps: maintenance_bps,
            liquidation_fee_bps: maintenance_bps / 5,
            max_long_oi: oi_cap,
            max_short_oi: oi_cap,
            min_position_size: 10u64.pow(base_decimals as u32) / 1_000,
            capital_share_e9: capital_share_pct * E9 / 100,
            max_default_prob_e9: E9 / 20,
            max_funding_rate_e9: funding_bps_per_day * E9 / 10_000,
        },
    }
}

/// BTC ETH SOL XRP BNB EUR GBP JPY XAU WTI, in that order.
pub fn default_markets() -> Vec<MarketPreset> {
    vec![
        market("BTC-PERP", 65_000.0, 8, 320, 2, 5, 50, 100, 30, 10, 50e6),
        market("ETH-PERP", 3_000.0, 8, 400, 2, 5, 25, 150, 25, 10, 40e6),
        market("SOL-PERP", 150.0, 8, 600, 4, 6, 20, 250, 10, 10, 10e6),
        market("XRP-PERP", 0.6, 6, 500, 4, 6, 20, 250, 10, 10, 10e6),
        market("BNB-PERP", 550.0, 8, 350, 4, 6, 20, 250, 10, 10, 10e6),
        market("EUR-PERP", 1.08, 6, 55, 1, 2, 100, 50, 30, 2, 100e6),
        market("GBP-PERP", 1.27, 6, 65, 1, 2, 100, 50, 25, 2, 80e6),
        market("JPY-PERP", 0.0067, 3, 70, 1, 2, 100, 50, 25, 2, 80e6),
        market("XAU-PERP", 2_300.0, 6, 95, 1, 3, 50, 100, 25, 3, 50e6),
        market("WTI-PERP", 80.0, 6, 260, 3, 5, 20, 250, 15, 5, 20e6),
    ]
}
