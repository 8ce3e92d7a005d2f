use anchor_lang::prelude::*;

use crate::constants::{
    BPS, DEFAULT_COMMIT_INTERVAL_SECS, DEFAULT_CORR_WINDOW_E9, DEFAULT_RISK_WINDOW_SECS,
    DEFAULT_SIGMA_WINDOW_BPS, E9, RISK_MODEL_SEED,
};
use crate::errors::PerpError;
use crate::state::{Pool, RiskModel};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct InitRiskModelArgs {
    /// Who publishes σ and R (a keeper).
    pub risk_authority: Pubkey,
    /// Largest relative σ change per commit, bps (1..=10,000).
    pub max_sigma_step_bps: u32,
    /// Largest correlation change per commit, 1e9 scale (1..=2e9).
    pub max_corr_step_e9: u32,
    /// Positive semi-definiteness tolerance, 1e9 scale (at most 1e-3).
    pub psd_tolerance_e9: u32,
    /// The IS limit and premium mode (see `set_risk_limits`).
    pub limits: crate::instructions::RiskLimits,
}

#[derive(Accounts)]
pub struct InitRiskModel<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(
        init,
        payer = authority,
        space = RiskModel::SIZE,
        seeds = [RISK_MODEL_SEED, pool.key().as_ref()],
        bump,
    )]
    pub risk_model: AccountLoader<'info, RiskModel>,
    pub system_program: Program<'info, System>,
}

/// The pool authority creates the risk model and names its publisher; it holds no parameters
/// until the first `commit_risk`. From now on every fill must pass the model and moves the
/// pool's Imbalance Score, and opens wait for the first commit (`MarketNotInRiskModel`).
pub fn handle_init_risk_model(ctx: Context<InitRiskModel>, args: InitRiskModelArgs) -> Result<()> {
    require!(
        (1..=BPS as u32).contains(&args.max_sigma_step_bps)
            && (1..=2 * E9 as u32).contains(&args.max_corr_step_e9)
            && args.psd_tolerance_e9 <= 1_000_000,
        PerpError::InvalidParameter
    );
    let mut pool = ctx.accounts.pool.load_mut()?;
    args.limits.apply(&mut pool)?;
    pool.risk.model = ctx.accounts.risk_model.key();
    let mut model = ctx.accounts.risk_model.load_init()?;
    model.pool = ctx.accounts.pool.key();
    model.authority = args.risk_authority;
    model.version = 1;
    model.bump = ctx.bumps.risk_model;
    model.max_sigma_step_bps = args.max_sigma_step_bps;
    model.max_corr_step_e9 = args.max_corr_step_e9;
    model.psd_tolerance_e9 = args.psd_tolerance_e9;
    // bounded from the start: an hour between commits, and over any week σ within a factor 2
    // and ρ within 0.5 of the week's first values (the pool authority may change them with
    // `set_risk_bounds`); a publisher the authority never bounded could otherwise walk the
    // model anywhere with chained commits
    model.bounds.min_commit_interval_secs = DEFAULT_COMMIT_INTERVAL_SECS;
    model.bounds.window_secs = DEFAULT_RISK_WINDOW_SECS;
    model.bounds.max_sigma_window_bps = DEFAULT_SIGMA_WINDOW_BPS;
    model.bounds.max_corr_window_e9 = DEFAULT_CORR_WINDOW_E9;
    Ok(())
}
