use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::crp::{rebalance, years};

use crate::constants::E9;
use crate::errors::{CrpError, math};
use crate::events::RebalanceEvent;
use crate::instructions::shared::{Breach, pool_ltv_bps, start_conversion_if_due};
use crate::oracle::load_prices;
use crate::state::{CrpPool, pause};

#[derive(Accounts)]
pub struct Rebalance<'info> {
    pub keeper: Signer<'info>,
    #[account(mut)]
    pub pool: AccountLoader<'info, CrpPool>,
    /// CHECK: the pool's oracle, checked by `load_prices`.
    pub oracle: UncheckedAccount<'info>,
}

/// Keeper: set the risky weight's next target, w' = α·Φ(d1) + (1 − α)·w, at most once per
/// interval; the weight then moves linearly from where it is to w' over the interval
/// (`CrpPool::weight_at`), so no transaction sees it jump and a trade placed around the
/// rebalance gains nothing from it. The pool's quoted price drifts with the weight and
/// arbitrage brings it back to the market. If a confirmed breach of the conversion threshold
/// is due the pool starts its flight to quality instead (and never re-weights again).
pub fn handle_rebalance(ctx: Context<Rebalance>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    if pool.keeper != Pubkey::default() {
        require_keys_eq!(ctx.accounts.keeper.key(), pool.keeper, CrpError::NotKeeper);
    }
    pool.require_not_paused(pause::REBALANCE)?;
    pool.require_active(now)?;
    require!(
        now >= pool
            .last_rebalance_ts
            .saturating_add(pool.params.min_rebalance_interval_secs as i64),
        CrpError::RebalanceTooEarly
    );
    let prices = load_prices(&pool, &ctx.accounts.oracle, now)?;
    pool.record_price(&prices);
    let old = pool.weight_at(now)?;
    pool.risky_weight.set_fix(old);
    pool.target_weight.set_fix(old);
    pool.last_rebalance_ts = now;
    pool.ramp_end_ts = now;
    if start_conversion_if_due(&mut pool, pool_key, &prices, now)? == Breach::Converted {
        return Ok(());
    }
    let sigma = Fix::from_bits(((pool.params.sigma_e9 as i128) << 64) / E9 as i128);
    let alpha = Fix::from_bits(((pool.params.ema_alpha_e9 as i128) << 64) / E9 as i128);
    let step = rebalance(
        prices.mid,
        pool.strike.fix(),
        sigma,
        years(pool.secs_left(now)),
        old,
        alpha,
    )
    .map_err(math)?;
    pool.target_weight.set_fix(step.weight);
    pool.ramp_end_ts = now.saturating_add(pool.params.min_rebalance_interval_secs as i64);
    pool.last_delta.set_fix(step.delta);
    emit!(RebalanceEvent {
        pool: pool_key,
        price: prices.mid.to_bits(),
        delta: step.delta.to_bits(),
        old_weight: old.to_bits(),
        new_weight: step.weight.to_bits(),
        pool_ltv_bps: pool_ltv_bps(&pool, &prices)?,
        ts: now,
    });
    Ok(())
}
