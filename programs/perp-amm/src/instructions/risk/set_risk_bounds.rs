use anchor_lang::prelude::*;

use crate::constants::{E9, MAX_MARKETS, RISK_MODEL_SEED, SECONDS_PER_DAY};
use crate::errors::PerpError;
use crate::events::AdminEvent;
use crate::state::{MAX_RISK_SIGMA_E9, Pool, RiskBounds, RiskModel};

/// What `set_risk_bounds` takes: the fields of [`RiskBounds`].
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskBoundsArgs {
    /// Seconds between two commits (at most a day).
    pub min_commit_interval_secs: u32,
    /// The rolling window, seconds (0: none; at most 30 days).
    pub window_secs: u32,
    /// σ stays within a factor 1 + bps/10,000 of its value at the window's start (1..=100,000
    /// when a window is set).
    pub max_sigma_window_bps: u32,
    /// ρ stays within this of its value at the window's start, 1e9 scale (1..=2e9 when a
    /// window is set).
    pub max_corr_window_e9: u32,
    /// σ range per market, 1e9 scale; a maximum of 0 leaves the market's range open.
    pub sigma_min_e9: [u64; MAX_MARKETS],
    pub sigma_max_e9: [u64; MAX_MARKETS],
}

impl RiskBoundsArgs {
    pub fn validate(&self) -> Result<()> {
        let window_ok = self.window_secs == 0
            || (self.window_secs as i64 <= 30 * SECONDS_PER_DAY
                && (1..=100_000).contains(&self.max_sigma_window_bps)
                && (1..=2 * E9 as u32).contains(&self.max_corr_window_e9));
        let ranges_ok = self
            .sigma_min_e9
            .iter()
            .zip(&self.sigma_max_e9)
            .all(|(lo, hi)| {
                *lo <= MAX_RISK_SIGMA_E9 && (*hi == 0 || (*lo <= *hi && *hi <= MAX_RISK_SIGMA_E9))
            });
        require!(
            self.min_commit_interval_secs as i64 <= SECONDS_PER_DAY && window_ok && ranges_ok,
            PerpError::InvalidParameter
        );
        Ok(())
    }
}

#[derive(Accounts)]
pub struct SetRiskBounds<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, seeds = [RISK_MODEL_SEED, pool.key().as_ref()], bump = risk_model.load()?.bump)]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// The pool authority bounds what its risk publisher may do beyond one commit's step: a
/// minimum interval between commits, the total change over a rolling window, and a σ range per
/// market (which must hold the current σ). A changed window starts afresh at the next commit.
pub fn handle_set_risk_bounds(ctx: Context<SetRiskBounds>, args: RiskBoundsArgs) -> Result<()> {
    args.validate()?;
    let mut model = ctx.accounts.risk_model.load_mut()?;
    // a range the current σ is outside of, which one commit's step might not reach, would
    // freeze every commit: the ranges must hold the model as it is
    for (i, sigma) in model.current.sigma_e9[..model.market_count as usize]
        .iter()
        .enumerate()
    {
        let hi = args.sigma_max_e9[i];
        require!(
            *sigma >= args.sigma_min_e9[i] && (hi == 0 || *sigma <= hi),
            PerpError::InvalidParameter
        );
    }
    model.bounds = RiskBounds {
        min_commit_interval_secs: args.min_commit_interval_secs,
        window_secs: args.window_secs,
        max_sigma_window_bps: args.max_sigma_window_bps,
        max_corr_window_e9: args.max_corr_window_e9,
        sigma_min_e9: args.sigma_min_e9,
        sigma_max_e9: args.sigma_max_e9,
    };
    model.anchor_count = 0;
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 7,
        value: ctx.accounts.authority.key(),
        flags: 0
    });
    Ok(())
}
