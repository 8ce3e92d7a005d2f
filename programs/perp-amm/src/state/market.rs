use anchor_lang::prelude::*;

use crate::constants::{BPS, E9};
use crate::errors::PerpError;
use crate::state::OracleKind;

/// A market's tunable parameters: everything `add_market` sets and `update_market` changes.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct MarketParams {
    /// Oracle price validity for risk-increasing actions (open, increase, LP, liquidate).
    pub max_age_open_secs: u32,
    /// Oracle price validity for risk-reducing actions (decrease, close, add collateral).
    pub max_age_close_secs: u32,
    /// Largest confidence interval accepted, in bps of the price (doubled for closing).
    pub max_conf_bps: u32,
    /// σ of the log return over the pricing horizon (1e9 scale), e.g. a day for crypto.
    pub sigma_e9: u64,
    /// Minimal half-spread β (1e9 scale).
    pub half_spread_e9: u64,
    /// Trading fee on notional, opening and closing (bps).
    pub open_fee_bps: u32,
    pub close_fee_bps: u32,
    /// Largest notional / equity at open.
    pub max_leverage: u32,
    /// Equity below this share of notional is liquidatable (bps).
    pub maintenance_margin_bps: u32,
    /// Keeper reward on liquidation, share of notional (bps), paid from the position's equity.
    pub liquidation_fee_bps: u32,
    /// Open-interest caps per side, base native units.
    pub max_long_oi: u64,
    pub max_short_oi: u64,
    /// Smallest position, base native units (dust is not worth liquidating).
    pub min_position_size: u64,
    /// Share of the pool's LP capital this market may lose: M = capital × share (1e9 scale).
    pub capital_share_e9: u64,
    /// A risk-increasing trade may not push the market's default probability above this (1e9).
    pub max_default_prob_e9: u64,
    /// Funding rate per day paid by the crowded side at full skew (1e9 scale).
    pub max_funding_rate_e9: u64,
}

impl MarketParams {
    pub fn validate(&self) -> Result<()> {
        let ok = self.max_age_open_secs > 0
            && self.max_age_close_secs >= self.max_age_open_secs
            && self.max_conf_bps > 0
            && (self.max_conf_bps as u64) < BPS
            && self.sigma_e9 > 0
            && self.sigma_e9 <= 5 * E9
            && self.half_spread_e9 < E9 / 10
            && (self.open_fee_bps as u64) < BPS / 10
            && (self.close_fee_bps as u64) < BPS / 10
            && self.max_leverage >= 1
            && self.max_leverage <= 1000
            && self.maintenance_margin_bps > 0
            // maintenance must sit below the initial margin 1/max_leverage
            && (self.maintenance_margin_bps as u64) * (self.max_leverage as u64) < BPS
            && (self.liquidation_fee_bps as u64) <= self.maintenance_margin_bps as u64
            && self.max_long_oi > 0
            && self.max_short_oi > 0
            && self.capital_share_e9 > 0
            && self.capital_share_e9 <= E9
            && self.max_default_prob_e9 > 0
            && self.max_default_prob_e9 < E9 / 2
            && self.max_funding_rate_e9 <= E9 / 10;
        require!(ok, PerpError::InvalidParameter);
        Ok(())
    }
}

#[account]
#[derive(InitSpace)]
pub struct Market {
    pub pool: Pubkey,
    /// Slot in the pool's aggregates.
    pub index: u8,
    pub bump: u8,
    /// Decimals of the base asset's native unit (position sizes are integers of it).
    pub base_decimals: u8,
    pub oracle_kind: OracleKind,
    /// Human name, e.g. "BTC-PERP", zero-padded.
    pub symbol: [u8; 16],
    pub oracle: Pubkey,
    /// Pyth feed id (or the push oracle's feed id).
    pub feed_id: [u8; 32],
    pub params: MarketParams,
    pub reserved: [u8; 64],
}
