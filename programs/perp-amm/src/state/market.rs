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
    /// Market hours: a schedule of the pool's calendar (1..=8), or 0 for always open.
    pub schedule: u8,
    /// While closed, LP valuation takes the last price moved against the pool by this many
    /// hundredths of σ per √day since it was published (σ is `sigma_e9`, a day's).
    pub gap_sigmas_e2: u16,
    /// Largest notional / equity a position may hold over a close; above it a keeper reduces
    /// it in the hour before (0: `max_leverage`, i.e. no separate limit).
    pub max_leverage_over_close: u32,
    /// Smallest position notional at the opening price, quote native (0: none), beside
    /// `min_position_size`: a crumb must not be worth opening to grief.
    pub min_position_notional: u64,
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
            && self.max_funding_rate_e9 <= E9 / 10
            && (self.schedule as usize) <= crate::state::MAX_SCHEDULES
            && self.gap_sigmas_e2 <= 1_000
            // a scheduled market is valued over its closes: at least a σ of allowance
            && (self.schedule == 0 || self.gap_sigmas_e2 >= 100)
            && self.max_leverage_over_close <= self.max_leverage;
        require!(ok, PerpError::InvalidParameter);
        Ok(())
    }

    /// The leverage a position may hold over a close (`max_leverage` when no separate limit).
    pub fn leverage_over_close(&self) -> u32 {
        match self.max_leverage_over_close {
            0 => self.max_leverage,
            v => v,
        }
    }

    /// Whether going from `self` to `new` worsens the terms of positions already open, so that
    /// it must be announced and wait [`MARKET_CHANGE_NOTICE_SECS`]: maintenance, liquidation
    /// fee, trading fees, half-spread, funding rate or the smallest position up, leverage down,
    /// a tighter oracle validity; and σ or the capital share either way (they set the insurance
    /// value whose change every reduction is charged or refunded: up, a minority's close pays
    /// more; down, a crowded side's refunds shrink). Each such step is bounded
    /// ([`PerpError::ChangeTooLarge`] beyond): a quarter up (a fifth down for leverage and for
    /// σ and capital share, half for the oracle limits) or a small absolute step when the
    /// value is small, so a worst case takes several announced changes. The leverage held over
    /// a close and the smallest notional step like leverage and size; the schedule and the gap
    /// allowance have no step to bound and are announced whichever way they move. Everything
    /// else (caps, the q cap, limits on new risk) only shapes future fills and applies at once.
    pub fn worsens(&self, new: &MarketParams) -> Result<bool> {
        // (old, new, smallest step allowed whatever old is)
        let up = |old: u64, new: u64, floor: u64| -> Result<bool> {
            require!(
                new <= old.saturating_add((old / 4).max(floor)),
                PerpError::ChangeTooLarge
            );
            Ok(new > old)
        };
        let down = |old: u64, new: u64, divisor: u64, floor: u64| -> Result<bool> {
            require!(
                new >= old.saturating_sub((old / divisor).max(floor)),
                PerpError::ChangeTooLarge
            );
            Ok(new < old)
        };
        // σ and capital share: a quarter up or a fifth down
        let both = |old: u64, new: u64| -> Result<bool> {
            require!(
                new <= old.saturating_add(old / 4) && new >= old - old / 5,
                PerpError::ChangeTooLarge
            );
            Ok(new != old)
        };
        let steps = [
            up(
                self.maintenance_margin_bps.into(),
                new.maintenance_margin_bps.into(),
                10,
            )?,
            up(
                self.liquidation_fee_bps.into(),
                new.liquidation_fee_bps.into(),
                5,
            )?,
            up(self.open_fee_bps.into(), new.open_fee_bps.into(), 5)?,
            up(self.close_fee_bps.into(), new.close_fee_bps.into(), 5)?,
            // 5 bps of price
            up(self.half_spread_e9, new.half_spread_e9, E9 / 2_000)?,
            // 0.1 % a day
            up(
                self.max_funding_rate_e9,
                new.max_funding_rate_e9,
                E9 / 1_000,
            )?,
            down(self.max_leverage.into(), new.max_leverage.into(), 5, 1)?,
            down(
                self.max_age_close_secs.into(),
                new.max_age_close_secs.into(),
                2,
                1,
            )?,
            down(self.max_conf_bps.into(), new.max_conf_bps.into(), 2, 1)?,
            down(
                self.max_age_open_secs.into(),
                new.max_age_open_secs.into(),
                2,
                1,
            )?,
            up(self.min_position_size, new.min_position_size, 1)?,
            // 1 quote unit at 6 decimals
            up(
                self.min_position_notional,
                new.min_position_notional,
                1_000_000,
            )?,
            down(
                self.leverage_over_close().into(),
                new.leverage_over_close().into(),
                5,
                1,
            )?,
            both(self.sigma_e9, new.sigma_e9)?,
            both(self.capital_share_e9, new.capital_share_e9)?,
            // market hours and the closed-market valuation: no step to bound, but announced
            // (hours decide when a trader can act; the allowance what a leaving LP takes)
            self.schedule != new.schedule,
            // the allowance a quarter up or a fifth down (at least 0.25σ either way)
            {
                let (old, new) = (self.gap_sigmas_e2 as u64, new.gap_sigmas_e2 as u64);
                require!(
                    new <= old + (old / 4).max(25) && new + (old / 5).max(25) >= old,
                    PerpError::ChangeTooLarge
                );
                new != old
            },
        ];
        Ok(steps.iter().any(|&worse| worse))
    }
}

/// Seconds between the announcement of a change that worsens open positions' terms and the
/// moment anyone may apply it: a day, so a trader can add collateral or leave first.
pub const MARKET_CHANGE_NOTICE_SECS: i64 = 86_400;
/// An announced change must be applied within this long after it is due, or proposed again:
/// terms announced long ago do not land on a market that has moved on.
pub const MARKET_CHANGE_APPLY_WINDOW_SECS: i64 = 7 * 86_400;

/// A market's announced change, `[MARKET_CHANGE_SEED, market]`: created by the first proposal and
/// reused; `effective_at == 0` when none is pending.
#[account]
#[derive(InitSpace)]
pub struct MarketChange {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub bump: u8,
    /// The parameters the market will have.
    pub params: MarketParams,
    pub proposed_at: i64,
    /// From this time anyone may apply it (0: nothing pending).
    pub effective_at: i64,
    /// The market's parameters when it was proposed: it applies only onto those, so a change
    /// made since is not silently undone.
    pub base: MarketParams,
    pub reserved: [u8; 32],
}

impl MarketChange {
    pub fn is_pending(&self) -> bool {
        self.effective_at != 0
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
    pub reserved: [u8; 49],
}
