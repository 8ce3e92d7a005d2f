use anchor_lang::prelude::*;

use crate::errors::{PerpError, onchain};
use crate::events::ImbalanceEvent;
use crate::risk::{marked_notional, rebuild, store_scores};
use crate::state::{Pool, RiskModel, load_pool_marks};

/// Remaining accounts: the oracle of every active market, in market order (as for deposits).
#[derive(Accounts)]
pub struct RefreshImbalance<'info> {
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// Permissionless: re-mark every active market's net open interest at its oracle price,
/// B_i = (long − short)·s_i, and recompute the pool's Imbalance Score √(Kᵀ R K) and ||K||,
/// K_i = B_i·σ_i, with σ and R from the risk model. Fills keep IS current between refreshes,
/// each re-marking only its own market; this brings every mark to the present. Markets the
/// model does not cover yet (added after its last commit) keep their mark for when it does.
pub fn handle_refresh_imbalance<'info>(ctx: Context<'info, RefreshImbalance<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let model = ctx.accounts.risk_model.load()?;
    require!(model.market_count > 0, PerpError::RiskNotCommitted);
    let mut pool = ctx.accounts.pool.load_mut()?;
    let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now)?;
    for (slot, mark) in pool.markets.iter_mut().zip(marks.iter()) {
        if let Some(mark) = mark {
            slot.risk_notional =
                marked_notional(slot.net_position(), mark.price_fix().map_err(onchain)?)?;
        }
    }
    rebuild(&mut pool, &model)?;
    store_scores(&mut pool)?;
    pool.risk.updated_ts = now;
    // fills' income becomes capital that premiums price against (hourly at most)
    pool.price_income(now);
    emit!(ImbalanceEvent {
        pool: pool_key,
        market_count: model.market_count,
        imbalance_score: pool.risk.imbalance_score,
        exposure_norm: pool.risk.exposure_norm,
    });
    Ok(())
}
