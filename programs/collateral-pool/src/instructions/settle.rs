use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::crp::{Settlement, sale_price, settle, settle_in_kind};

use crate::constants::SETTLE_GRACE_SECS;
use crate::errors::{CrpError, math};
use crate::events::SettleEvent;
use crate::instructions::shared::{add, sub};
use crate::oracle::{latest_print, load_prices};
use crate::state::{CrpPool, status};

#[derive(Accounts)]
pub struct Settle<'info> {
    pub caller: Signer<'info>,
    #[account(mut)]
    pub pool: AccountLoader<'info, CrpPool>,
    /// CHECK: must be the pool's oracle; a fresh price is recorded as the pool's last price, a
    /// stale or wide one is ignored (settlement never waits for the oracle).
    pub oracle: UncheckedAccount<'info>,
}

/// Anyone, after expiry: pay the borrowers' debt from the pool's riskless side to the lenders,
/// top up from the reserve fund if that falls short of what lenders are owed (unlent cash plus
/// the debt), and open redemptions. If the riskless side cannot cover the debt while risky is
/// left, the pool first sells risky at the discounted oracle price (status SETTLING) until it
/// can; calling `settle` again then completes. Nothing can hold settlement past
/// `SETTLE_GRACE_SECS` after expiry: a pool still short then (its oracle stopped, or no buyer
/// came) pays the rest of the debt to lenders in risky, at its last accepted price less the
/// conversion discount. Never paused; the oracle must be the pool's, but a price it cannot give
/// (stale, wide) does not hold settlement: the last price the pool accepted stands.
pub fn handle_settle(ctx: Context<Settle>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    require!(now >= pool.expiry, CrpError::NotExpired);
    require!(pool.status != status::SETTLED, CrpError::WrongState);
    require_keys_eq!(
        ctx.accounts.oracle.key(),
        pool.oracle,
        CrpError::WrongOracle
    );
    if let Ok(prices) = load_prices(&pool, &ctx.accounts.oracle, now) {
        pool.record_price(&prices);
    }
    let short = pool.riskless_balance < pool.debt_face && pool.risky_balance > 0;
    let in_kind = short && now >= pool.expiry.saturating_add(SETTLE_GRACE_SECS);
    if short && !in_kind {
        require!(pool.status != status::SETTLING, CrpError::Settling);
        pool.status = status::SETTLING;
        emit!(SettleEvent {
            pool: pool_key,
            settling: true,
            from_pool: 0,
            from_reserve: 0,
            to_reserve: 0,
            lender_assets: 0,
            risky_left: pool.risky_balance,
            riskless_left: pool.riskless_balance,
            lender_risky: 0,
        });
        return Ok(());
    }
    let owed = add(pool.loan_cash, pool.debt_face)?;
    let s: Settlement = if in_kind {
        // past the grace period the oracle's latest print counts even if stale or wide: it is
        // newer information than the last price the pool accepted
        if let Some((mid, published)) = latest_print(&pool, &ctx.accounts.oracle)
            && published > pool.last_price_ts
        {
            pool.last_price.set_fix(mid);
            pool.last_price_ts = published;
        }
        // a price that cannot be discounted (none was ever positive) gives lenders all the risky
        let price = sale_price(pool.last_price.fix(), pool.params.conversion_discount_bps)
            .unwrap_or(Fix::from_bits(1));
        settle_in_kind(
            pool.riskless_balance,
            pool.risky_balance,
            pool.debt_face,
            pool.loan_cash,
            owed,
            pool.reserve,
            price,
        )
    } else {
        settle(
            pool.riskless_balance,
            pool.debt_face,
            pool.loan_cash,
            owed,
            pool.reserve,
        )
    }
    .map_err(math)?;
    pool.riskless_balance = sub(pool.riskless_balance, s.from_pool)?;
    pool.risky_balance = sub(pool.risky_balance, s.lender_risky)?;
    pool.lender_risky = s.lender_risky;
    pool.reserve = add(sub(pool.reserve, s.from_reserve)?, s.to_reserve)?;
    pool.loan_cash = 0;
    pool.lender_assets = s.lender_assets;
    pool.status = status::SETTLED;
    pool.settled_ts = now;
    emit!(SettleEvent {
        pool: pool_key,
        settling: false,
        from_pool: s.from_pool,
        from_reserve: s.from_reserve,
        to_reserve: s.to_reserve,
        lender_assets: s.lender_assets,
        risky_left: pool.risky_balance,
        riskless_left: pool.riskless_balance,
        lender_risky: s.lender_risky,
    });
    Ok(())
}
