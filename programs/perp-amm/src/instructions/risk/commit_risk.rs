use anchor_lang::prelude::*;
use keel_math::imbalance::{CORR_SCALE, check_psd_certificate, lower_len, upper_len};

use crate::constants::BPS;
use crate::errors::PerpError;
use crate::events::RiskEvent;
use crate::risk::{rebuild, store_scores};
use crate::state::{MAX_RISK_SIGMA_E9, Pool, RiskModel};

#[derive(Accounts)]
pub struct CommitRisk<'info> {
    pub authority: Signer<'info>,
    /// Re-scored under the new model here, so no fill pays for the O(n²) rebuild.
    #[account(mut)]
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
/// current model's and not in the future. Beyond one commit's step, the pool authority's
/// [`RiskBounds`](crate::state::RiskBounds) hold: a minimum interval between commits, a bound
/// on the total change over a rolling window (from the values at its start) and a σ range per
/// market. A failed commit changes nothing. The pool's Imbalance Score is recomputed under the
/// new model at once.
pub fn handle_commit_risk(ctx: Context<CommitRisk>, as_of: i64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let n = ctx.accounts.pool.load()?.market_count as usize;
    require!(n > 0, PerpError::MarketInactive);
    let mut model = ctx.accounts.risk_model.load_mut()?;
    require!(as_of > model.as_of && as_of <= now, PerpError::RiskStale);
    // commits one second apart would walk the model anywhere within minutes
    require!(
        model.committed_at == 0
            || now >= model.committed_at + model.bounds.min_commit_interval_secs as i64,
        PerpError::RiskTooSoon
    );
    if model.window_restarts(now) {
        // the window starts over from the values the pool runs on now
        let RiskModel {
            current, anchor, ..
        } = &mut *model;
        *anchor = *current;
        model.anchor_count = model.market_count;
        model.window_start = now;
    }
    let staged = &model.staged;
    let (sigma, corr) = (
        &staged.params.sigma_e9[..n],
        &staged.params.corr_upper[..upper_len(n)],
    );
    require!(
        sigma.iter().all(|s| (1..=MAX_RISK_SIGMA_E9).contains(s)),
        PerpError::RiskSigma
    );
    for (i, s) in sigma.iter().enumerate() {
        let (lo, hi) = model.sigma_range(i);
        require!((lo..=hi).contains(s), PerpError::RiskSigmaOutOfRange);
    }
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
    // and the window's total: σ within a factor 1 + b of its value at the window's start
    let windowed = if model.bounds.window_secs > 0 {
        (model.anchor_count as usize).min(n)
    } else {
        0
    };
    let factor = BPS as u128 + model.bounds.max_sigma_window_bps as u128;
    for (new, start) in sigma[..windowed].iter().zip(&model.anchor.sigma_e9) {
        let (new, start) = (*new as u128 * BPS as u128, *start as u128);
        require!(
            new <= start * factor && new * factor >= start * BPS as u128 * BPS as u128,
            PerpError::RiskWindowExceeded
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
    let anchor_n = model.anchor_count as usize;
    for i in 0..windowed.saturating_sub(1) {
        let len = windowed - i - 1;
        let new_row = &corr[row_start(i, n)..][..len];
        let start_row = &model.anchor.corr_upper[row_start(i, anchor_n)..][..len];
        for (new, start) in new_row.iter().zip(start_row) {
            require!(
                new.abs_diff(*start) <= model.bounds.max_corr_window_e9,
                PerpError::RiskWindowExceeded
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
    if model.bounds.window_secs > 0 && (model.anchor_count as usize) < n {
        // markets the window's start did not cover (added since) would escape it: the window
        // starts again from the values just committed, every market in it
        let RiskModel {
            current, anchor, ..
        } = &mut *model;
        *anchor = *current;
        model.anchor_count = n as u8;
        model.window_start = now;
    }
    // the pool's stored K and T were computed under the previous revision: recompute them now
    // from each market's stored B (no price needed), so that no trader's fill, close or
    // liquidation pays for the O(n²) rebuild
    model.revision += 1;
    let model_key = ctx.accounts.risk_model.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    if pool.risk.model == model_key {
        rebuild(&mut pool, &model)?;
        store_scores(&mut pool)?;
    }
    emit!(RiskEvent {
        pool: model.pool,
        market_count: n as u8,
        as_of,
    });
    Ok(())
}
