use anchor_lang::prelude::*;

use crate::constants::{BPS, SECONDS_PER_DAY};
use crate::errors::PerpError;
use crate::state::{Pool, premium_mode};

/// The pool's use of its risk model.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskLimits {
    /// Opens and increases that raise the Imbalance Score may not take it above this share of
    /// LP capital, bps (1..=10,000; IS is a one-period standard deviation of the pool's PnL).
    pub max_imbalance_bps: u32,
    /// A `premium_mode` constant: 0 prices each market's own default probability (D8X), 1 the
    /// whole pool's (portfolio).
    pub premium_mode: u8,
    /// The portfolio premium's horizon h, seconds (one hour to 30 days).
    pub premium_horizon_secs: u32,
}

pub const MIN_PREMIUM_HORIZON_SECS: u32 = 3_600;
pub const MAX_PREMIUM_HORIZON_SECS: u32 = 30 * SECONDS_PER_DAY as u32;

impl RiskLimits {
    pub fn validate(&self) -> Result<()> {
        require!(
            (1..=BPS as u32).contains(&self.max_imbalance_bps)
                && self.premium_mode <= premium_mode::PORTFOLIO
                && (MIN_PREMIUM_HORIZON_SECS..=MAX_PREMIUM_HORIZON_SECS)
                    .contains(&self.premium_horizon_secs),
            PerpError::InvalidParameter
        );
        Ok(())
    }

    /// Write the limits into the pool, with √(h in days) at 1e9 scale, rounded down.
    pub fn apply(&self, pool: &mut Pool) -> Result<()> {
        self.validate()?;
        let radicand =
            self.premium_horizon_secs as u128 * 1_000_000_000_000_000_000 / SECONDS_PER_DAY as u128;
        pool.risk.max_imbalance_bps = self.max_imbalance_bps;
        pool.risk.premium_mode = self.premium_mode;
        pool.risk.premium_horizon_secs = self.premium_horizon_secs;
        pool.risk.premium_sqrt_horizon_e9 = radicand.isqrt() as u64;
        Ok(())
    }
}

#[derive(Accounts)]
pub struct SetRiskLimits<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The pool authority changes the IS limit and the premium mode. Needs a risk model.
pub fn handle_set_risk_limits(ctx: Context<SetRiskLimits>, limits: RiskLimits) -> Result<()> {
    let mut pool = ctx.accounts.pool.load_mut()?;
    require!(
        pool.risk.model != Pubkey::default(),
        PerpError::WrongRiskModel
    );
    limits.apply(&mut pool)
}
