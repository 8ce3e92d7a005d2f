//! The defaults an operator starts from, in one place: the market set (five crypto and five
//! real-world-asset perps), the push-oracle price format, the shipped σ/R calibration of those
//! markets, and the crp (collateral rebalancing pool) parameters. Migrations, the sandbox, the
//! tests and the benchmark build on them.
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

use collateral_pool::state::CrpParams;
use perp_amm::instructions::PushPriceArgs;
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
            schedule: 0,
            gap_sigmas_e2: 0,
            max_leverage_over_close: 0,
            // 10 USDC: a crumb is not worth opening
            min_position_notional: 10_000_000,
        },
    }
}

/// A real-world market keeps the hours of schedule `schedule` ([`schedules`]): closed, it is
/// valued at its last price moved 3σ·√days against the pool, and a position held over a close
/// may carry at most `leverage_over_close`.
fn with_hours(mut preset: MarketPreset, schedule: u8, leverage_over_close: u32) -> MarketPreset {
    preset.params.schedule = schedule;
    preset.params.gap_sigmas_e2 = 300;
    preset.params.max_leverage_over_close = leverage_over_close;
    preset
}

/// Schedule 1 of [`schedules`]: FX, Sunday 17:00 to Friday 17:00 New York.
pub const FX_SCHEDULE: u8 = 1;
/// Schedule 2: CME metals and energy, Sunday to Friday 18:00–17:00 New York (Chicago's
/// 17:00–16:00), closed an hour every weekday.
pub const CME_SCHEDULE: u8 = 2;

/// The market-hours schedules the default markets refer to, as `set_schedule` takes them (no
/// holidays: an operator adds each year's, at least a day ahead).
pub fn schedules() -> Vec<(u8, perp_amm::state::ScheduleArgs)> {
    use keel_math::calendar::{MINUTES_PER_DAY, zone};
    let fx = perp_amm::state::ScheduleArgs {
        zone: zone::NEW_YORK,
        sessions: vec![[17 * 60, 5 * MINUTES_PER_DAY + 17 * 60]],
        closures: vec![],
    };
    let cme = perp_amm::state::ScheduleArgs {
        zone: zone::NEW_YORK,
        sessions: (0..5)
            .map(|d| {
                [
                    d * MINUTES_PER_DAY + 18 * 60,
                    (d + 1) * MINUTES_PER_DAY + 17 * 60,
                ]
            })
            .collect(),
        closures: vec![],
    };
    vec![(FX_SCHEDULE, fx), (CME_SCHEDULE, cme)]
}

/// BTC ETH SOL XRP BNB EUR GBP JPY XAU WTI, in that order.
pub fn default_markets() -> Vec<MarketPreset> {
    vec![
        market("BTC-PERP", 65_000.0, 8, 320, 2, 5, 50, 100, 30, 10, 50e6),
        market("ETH-PERP", 3_000.0, 8, 400, 2, 5, 25, 150, 25, 10, 40e6),
        market("SOL-PERP", 150.0, 8, 600, 4, 6, 20, 250, 10, 10, 10e6),
        market("XRP-PERP", 0.6, 6, 500, 4, 6, 20, 250, 10, 10, 10e6),
        market("BNB-PERP", 550.0, 8, 350, 4, 6, 20, 250, 10, 10, 10e6),
        // held over a close, the initial margin covers a 3σ weekend gap (σ·√2.2 days) 1.7 to 2
        // times:
        // FX 20x (5 % against 2.4-2.8 %), gold 10x (10 % against 4.3 %), oil 5x (20 % against
        // 11.6 %)
        with_hours(
            market("EUR-PERP", 1.08, 6, 55, 1, 2, 100, 50, 30, 2, 100e6),
            FX_SCHEDULE,
            20,
        ),
        with_hours(
            market("GBP-PERP", 1.27, 6, 65, 1, 2, 100, 50, 25, 2, 80e6),
            FX_SCHEDULE,
            20,
        ),
        with_hours(
            market("JPY-PERP", 0.0067, 3, 70, 1, 2, 100, 50, 25, 2, 80e6),
            FX_SCHEDULE,
            20,
        ),
        with_hours(
            market("XAU-PERP", 2_300.0, 6, 95, 1, 3, 50, 100, 25, 3, 50e6),
            CME_SCHEDULE,
            10,
        ),
        with_hours(
            market("WTI-PERP", 80.0, 6, 260, 3, 5, 20, 250, 15, 5, 20e6),
            CME_SCHEDULE,
            5,
        ),
    ]
}

/// The preset named `symbol`, if any.
pub fn market_preset(symbol: &str) -> Option<MarketPreset> {
    default_markets().into_iter().find(|p| p.symbol == symbol)
}

/// Push-oracle prices carry 8 decimals.
pub const PRICE_EXPO: i32 = -8;

/// A push-oracle update for `price` (whole units) at [`PRICE_EXPO`], a confidence of 1 bp,
/// stamped `now`.
pub fn push_args(price: f64, now: i64) -> PushPriceArgs {
    let scaled = (price * 10f64.powi(-PRICE_EXPO)).round();
    PushPriceArgs {
        price: scaled as i64,
        conf: (scaled / 10_000.0).round() as u64,
        publish_time: now,
    }
}

/// The JPY market lists JPY in USD: its price is 1 / (USD-JPY), and its correlations with the
/// others change sign.
pub const INVERTED_MARKET: usize = 7;

/// σ of daily simple returns on common dates, 2021-09-01 → 2023-09-30 (STATS.md §2), of the
/// instruments behind [`default_markets`] in order (USD-JPY as quoted).
pub const CALIBRATED_SIGMA: [f64; 10] = [
    0.03663, 0.04647, 0.06844, 0.05781, 0.04079, 0.00539, 0.00645, 0.00693, 0.00901, 0.02575,
];

/// Pearson correlations, method A (STATS.md §2), row-major, of the same instruments (USD-JPY as
/// quoted).
#[rustfmt::skip]
pub const CALIBRATED_CORR: [[f64; 10]; 10] = [
    [1.000, 0.873, 0.707, 0.602, 0.783, 0.208, 0.236, -0.086, 0.125, 0.073],
    [0.873, 1.000, 0.746, 0.629, 0.816, 0.211, 0.233, -0.069, 0.109, 0.090],
    [0.707, 0.746, 1.000, 0.572, 0.675, 0.166, 0.218, -0.056, 0.065, 0.046],
    [0.602, 0.629, 0.572, 1.000, 0.597, 0.160, 0.149, -0.030, 0.040, 0.070],
    [0.783, 0.816, 0.675, 0.597, 1.000, 0.154, 0.176, -0.058, 0.127, 0.069],
    [0.208, 0.211, 0.166, 0.160, 0.154, 1.000, 0.763, -0.409, 0.385, 0.094],
    [0.236, 0.233, 0.218, 0.149, 0.176, 0.763, 1.000, -0.427, 0.424, 0.195],
    [-0.086, -0.069, -0.056, -0.030, -0.058, -0.409, -0.427, 1.000, -0.501, -0.035],
    [0.125, 0.109, 0.065, 0.040, 0.127, 0.385, 0.424, -0.501, 1.000, 0.217],
    [0.073, 0.090, 0.046, 0.070, 0.069, 0.094, 0.195, -0.035, 0.217, 1.000],
];

/// The shipped calibration of the first `n` default markets in market terms (JPY inverted):
/// σ, and R full n×n row-major. The sandbox's first risk publication and a migration's, when no
/// price files are given.
pub fn calibration(n: usize) -> (Vec<f64>, Vec<f64>) {
    let corr = |i: usize, j: usize| {
        let sign = if (i == INVERTED_MARKET) != (j == INVERTED_MARKET) {
            -1.0
        } else {
            1.0
        };
        CALIBRATED_CORR[i][j] * sign
    };
    (
        CALIBRATED_SIGMA[..n].to_vec(),
        (0..n * n).map(|x| corr(x / n, x % n)).collect(),
    )
}

/// A pool's request settings: market and deposit requests execute within 30 s (so a keeper
/// choosing among prints after the request has at most 30 s to choose from), withdrawals wait
/// a day (D8X's delay: a deposit bears a day of the book before it can leave), and a keeper is
/// paid at least 50,000 lamports (ten signatures' fees) per request.
pub fn request_params() -> perp_amm::state::RequestParams {
    perp_amm::state::RequestParams {
        order_window_secs: 30,
        withdrawal_delay_secs: 86_400,
        min_keeper_fee_lamports: 50_000,
    }
}

/// The risk publisher's bounds beyond one commit's step (`set_risk_bounds`): an hour between
/// commits, and over a week σ within a factor 2 and ρ within 0.5 of the week's start. σ ranges
/// stay open (a deployment sets them per market for the limits it chose).
pub fn risk_bounds() -> perp_amm::instructions::RiskBoundsArgs {
    perp_amm::instructions::RiskBoundsArgs {
        min_commit_interval_secs: 3_600,
        window_secs: 7 * 86_400,
        max_sigma_window_bps: 10_000,
        max_corr_window_e9: 500_000_000,
        sigma_min_e9: [0; 32],
        sigma_max_e9: [0; 32],
    }
}

/// The reference market the program tests and the SBF bench trade: 5 % σ per day, no spread,
/// 0.1 % fees, 20x, 2.5 % maintenance, 0.5 % to the liquidator, 1M-token OI caps, half the
/// capital at risk, q capped at 20 %, funding up to 0.1 % a day; prices a minute old to open
/// and ten minutes to close, 1 % wide. (The default market set above is what a pool lists.)
pub fn reference_market_params() -> MarketParams {
    const E6: u64 = 1_000_000;
    const E9: u64 = 1_000_000_000;
    MarketParams {
        max_age_open_secs: 60,
        max_age_close_secs: 600,
        max_conf_bps: 100,
        sigma_e9: 50_000_000,
        half_spread_e9: 0,
        open_fee_bps: 10,
        close_fee_bps: 10,
        max_leverage: 20,
        maintenance_margin_bps: 250,
        liquidation_fee_bps: 50,
        max_long_oi: 1_000_000 * E6,
        max_short_oi: 1_000_000 * E6,
        min_position_size: 1_000,
        capital_share_e9: E9 / 2,
        max_default_prob_e9: E9 / 5,
        max_funding_rate_e9: E9 / 1000,
        schedule: 0,
        gap_sigmas_e2: 0,
        max_leverage_over_close: 0,
        min_position_notional: 0,
    }
}

/// A 90-day crp at the money: σ 80 %, 50 % initial and 80 % conversion LTV, α 0.5, daily
/// rebalances, 0.3 % fee (a fifth to the reserve), 30 % trade cap, 5 % rate, 1 % sale discount.
pub fn crp_params(strike: f64) -> CrpParams {
    CrpParams {
        strike_e9: (strike * 1e9).round() as u64,
        sigma_e9: 800_000_000,
        initial_ltv_bps: 5_000,
        conversion_ltv_bps: 8_000,
        ema_alpha_e9: 500_000_000,
        min_rebalance_interval_secs: 86_400,
        fee_bps: 30,
        reserve_share_bps: 2_000,
        max_trade_ratio_bps: 3_000,
        rate_bps: 500,
        conversion_discount_bps: 100,
        max_age_secs: 60,
        max_conf_bps: 100,
    }
}
