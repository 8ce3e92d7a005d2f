use anchor_lang::prelude::*;

use crate::errors::{PerpError, onchain};
use crate::events::ImbalanceEvent;
use crate::instructions::shared::closed_markets;
use crate::risk::{marked_notional, rebuild, store_scores};
use crate::state::{Pool, RiskModel, load_pool_marks, scale_pow10};

/// Remaining accounts: the oracle of every active market, in market order (as for deposits).
#[derive(Accounts)]
pub struct RefreshImbalance<'info> {
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub risk_model: AccountLoader<'info, RiskModel>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// (any account otherwise; the client passes the calendar's address either way).
    pub calendar: UncheckedAccount<'info>,
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
    let closed = closed_markets(&pool, &ctx.accounts.calendar, now)?;
    let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now, &closed)?;
    for (i, (slot, mark)) in pool.markets.iter_mut().zip(marks.iter()).enumerate() {
        if let Some(mark) = mark {
            // a closed market's last price moved by its gap allowance the way that grows |B|
            // (IS grows with every |B|): its risk over the close counts, not just its last print
            let price = if closed.is_closed(i) {
                mark.price.saturating_add(mark.conf)
            } else {
                mark.price
            };
            let price = scale_pow10(price, mark.exp10).map_err(onchain)?;
            slot.risk_notional = marked_notional(slot.net_position(), price)?;
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
