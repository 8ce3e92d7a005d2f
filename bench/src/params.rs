//! The default parameters the bench runs with, in one place: every perp-amm market's
//! `MarketParams` and the collateral pool's `CrpParams`. Both are literals of the bench's own;
//! swapping them for `keel::client::presets` (once the app crate has them) changes only this file.

use collateral_pool::state::CrpParams;
use perp_amm::state::MarketParams;

use crate::harness::{E6, E9};

/// Every market's parameters (`add_market` and the n = 1 `update_market`).
pub fn market_params() -> MarketParams {
    MarketParams {
        max_age_open_secs: 60,
        max_age_close_secs: 600,
        max_conf_bps: 100,
        sigma_e9: 50_000_000,
        half_spread_e9: E9 / 10_000,
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
    }
}

/// The collateral pool's parameters: strike 100, the push oracle's opening price.
pub fn crp_params() -> CrpParams {
    CrpParams {
        strike_e9: 100 * E9,
        sigma_e9: 800_000_000,
        initial_ltv_bps: 5_000,
        conversion_ltv_bps: 8_000,
        ema_alpha_e9: E9 / 2,
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
