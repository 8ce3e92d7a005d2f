use anchor_lang::prelude::*;
use keel_math::imbalance::{CORR_SCALE, check_psd_certificate, lower_len, upper_len};

use crate::constants::BPS;
use crate::errors::PerpError;
use crate::events::RiskEvent;
use crate::state::{MAX_RISK_SIGMA_E9, Pool, RiskModel};

#[derive(Accounts)]
pub struct CommitRisk<'info> {
    pub authority: Signer<'info>,
    pub pool: AccountLoader<'info, Pool>,
    #[account(
        mut,
        has_one = authority @ PerpError::NotRiskAuthority,
        has_one = pool @ PerpError::WrongPool,
    )]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// Validate the staged σ, R and certificate for the pool's current markets and make them the
/// model. `as_of` is the time of the price data they were estimated from: newer than the
/// current model's and not in the future. A failed commit changes nothing.
pub fn handle_commit_risk(ctx: Context<CommitRisk>, as_of: i64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let n = ctx.accounts.pool.load()?.market_count as usize;
    require!(n > 0, PerpError::MarketInactive);
    let mut model = ctx.accounts.risk_model.load_mut()?;
    require!(as_of > model.as_of && as_of <= now, PerpError::RiskStale);
    let staged = &model.staged;
    let (sigma, corr) = (
        &staged.params.sigma_e9[..n],
        &staged.params.corr_upper[..upper_len(n)],
    );
    require!(
        sigma.iter().all(|s| (1..=MAX_RISK_SIGMA_E9).contains(s)),
        PerpError::RiskSigma
    );
    require!(
        corr.iter().all(|r| (*r as i64).abs() <= CORR_SCALE),
        PerpError::RiskCorrelation
    );
    // markets the current model already covers may only move by a bounded step
    let old_n = model.market_count as usize;
    let covered = old_n.min(n);
    for (new, old) in sigma[..covered].iter().zip(&model.current.sigma_e9) {
        let step = new.abs_diff(*old) as u128 * BPS as u128;
        require!(
            step <= *old as u128 * model.max_sigma_step_bps as u128,
            PerpError::RiskStepTooLarge
        );
    }
    // row i of both triangles starts with ρ_i,i+1 … ρ_i,covered−1: compare those runs directly
    // (an index computation per pair cost ~150 CU a pair on SBF)
    let row_start = |i: usize, size: usize| i * (2 * size - i - 1) / 2;
    for i in 0..covered.saturating_sub(1) {
        let len = covered - i - 1;
        let new_row = &corr[row_start(i, n)..][..len];
        let old_row = &model.current.corr_upper[row_start(i, old_n)..][..len];
        for (new, old) in new_row.iter().zip(old_row) {
            require!(
                new.abs_diff(*old) <= model.max_corr_step_e9,
                PerpError::RiskStepTooLarge
            );
        }
    }
    check_psd_certificate(
        corr,
        &staged.chol_lower[..lower_len(n)],
        n,
        model.psd_tolerance_e9 as i64,
    )
    .map_err(|_| error!(PerpError::RiskNotPositiveSemidefinite))?;

    // field to field: a 2 KB temporary would crowd SBF's 4 KB stack frame
    let RiskModel {
        current, staged, ..
    } = &mut *model;
    *current = staged.params;
    // entries past the covered markets stay zero, so `covered()` never sees stale data
    model.current.sigma_e9[n..].fill(0);
    model.current.corr_upper[upper_len(n)..].fill(0);
    model.market_count = n as u8;
    model.as_of = as_of;
    model.committed_at = now;
    // the pool's stored K and T were computed under the previous revision: the next fill or
    // refresh recomputes them
    model.revision += 1;
    emit!(RiskEvent {
        pool: model.pool,
        market_count: n as u8,
        as_of,
    });
    Ok(())
}
