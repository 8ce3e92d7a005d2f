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

    /// Write the limits into the pool.
    pub fn apply(&self, pool: &mut Pool) -> Result<()> {
        self.validate()?;
        pool.risk.max_imbalance_bps = self.max_imbalance_bps;
        set_premium(pool, self.premium_mode, self.premium_horizon_secs);
        Ok(())
    }

    /// Whether these limits price fills differently from the pool's current ones.
    pub fn changes_premium(&self, pool: &Pool) -> bool {
        self.premium_mode != pool.risk.premium_mode
            || self.premium_horizon_secs != pool.risk.premium_horizon_secs
    }
}

/// Set the premium mode and horizon h, with √(h in days) at 1e9 scale, rounded down.
pub fn set_premium(pool: &mut Pool, mode: u8, horizon_secs: u32) {
    let radicand = horizon_secs as u128 * 1_000_000_000_000_000_000 / SECONDS_PER_DAY as u128;
    pool.risk.premium_mode = mode;
    pool.risk.premium_horizon_secs = horizon_secs;
    pool.risk.premium_sqrt_horizon_e9 = radicand.isqrt() as u64;
}

#[derive(Accounts)]
pub struct SetRiskLimits<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The pool authority changes the IS limit and the premium mode. Needs a risk model.
///
/// The IS limit applies at once: it only bounds new risk, and reductions pass it whatever it
/// is. The premium mode and horizon set what every reduction is charged or refunded, so while
/// any position is open they change only through an announced
/// `propose_premium_change` ([`super::premium_change`]; `ChangeNeedsNotice` here), and not at all
/// while one is pending (`ChangePending`).
pub fn handle_set_risk_limits(ctx: Context<SetRiskLimits>, limits: RiskLimits) -> Result<()> {
    let mut pool = ctx.accounts.pool.load_mut()?;
    require!(
        pool.risk.model != Pubkey::default(),
        PerpError::WrongRiskModel
    );
    limits.validate()?;
    if limits.changes_premium(&pool) {
        require!(!pool.pending_premium.is_pending(), PerpError::ChangePending);
        require!(!pool.has_open_interest(), PerpError::ChangeNeedsNotice);
    }
    limits.apply(&mut pool)
}
