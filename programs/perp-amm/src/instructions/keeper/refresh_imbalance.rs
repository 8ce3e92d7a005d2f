use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::imbalance::{MAX_ASSETS, exposure_norm, imbalance_score, upper_len};

use crate::errors::PerpError;
use crate::events::ImbalanceEvent;
use crate::instructions::shared::load_pool_marks;
use crate::math::{fix_e9, fix_int, overflow};
use crate::state::{Pool, RiskModel};

/// Remaining accounts: the oracle of every active market, in market order (as for deposits).
#[derive(Accounts)]
pub struct RefreshImbalance<'info> {
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// Permissionless: mark every covered market's net open interest at its oracle price,
/// B_i = (long − short)·s_i, and store the pool's Imbalance Score √(Kᵀ R K) and ||K||,
/// K_i = B_i·σ_i, with σ and R from the risk model. Markets the model does not cover yet
/// (added after its last commit) are left out until it does.
pub fn handle_refresh_imbalance<'info>(ctx: Context<'info, RefreshImbalance<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let model = ctx.accounts.risk_model.load()?;
    let n = model.market_count as usize;
    require!(n > 0, PerpError::RiskNotCommitted);
    let mut pool = ctx.accounts.pool.load_mut()?;
    let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now)?;
    let (mut b, mut sigma) = ([Fix::ZERO; MAX_ASSETS], [Fix::ZERO; MAX_ASSETS]);
    for i in 0..n {
        let slot = &pool.markets[i];
        if let Some(mark) = marks[i] {
            // quote native: base native · quote native per base native
            b[i] = fix_int(slot.net_position())?
                .checked_mul(mark.price_fix()?)
                .ok_or_else(overflow)?;
        }
        sigma[i] = fix_e9(model.current.sigma_e9[i]);
    }
    let corr = &model.current.corr_upper[..upper_len(n)];
    let score =
        imbalance_score(&b[..n], &sigma[..n], corr).map_err(|e| error!(PerpError::from(e)))?;
    let norm = exposure_norm(&b[..n], &sigma[..n]).map_err(|e| error!(PerpError::from(e)))?;
    pool.imbalance_score.set_fix(score);
    pool.exposure_norm.set_fix(norm);
    pool.imbalance_ts = now;
    emit!(ImbalanceEvent {
        pool: pool_key,
        market_count: n as u8,
        imbalance_score: score.to_bits(),
        exposure_norm: norm.to_bits(),
    });
    Ok(())
}
