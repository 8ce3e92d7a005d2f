use anchor_lang::prelude::*;
use keel_math::crp::settle;

use crate::errors::{CrpError, math};
use crate::events::SettleEvent;
use crate::instructions::shared::{add, sub};
use crate::state::{CrpPool, status};

#[derive(Accounts)]
pub struct Settle<'info> {
    pub caller: Signer<'info>,
    #[account(mut)]
    pub pool: AccountLoader<'info, CrpPool>,
}

/// Anyone, after expiry: pay the borrowers' debt from the pool's riskless side to the lenders,
/// top up from the reserve fund if that and the unlent cash fall short of the lenders' claims,
/// and open redemptions. If the riskless side cannot cover the debt while risky is left, the pool
/// first sells risky at the discounted oracle price (status SETTLING) until it can; calling
/// `settle` again then completes.
pub fn handle_settle(ctx: Context<Settle>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    require!(now >= pool.expiry, CrpError::NotExpired);
    require!(pool.status != status::SETTLED, CrpError::WrongState);
    if pool.riskless_balance < pool.debt_face && pool.risky_balance > 0 {
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
        });
        return Ok(());
    }
    let s = settle(
        pool.riskless_balance,
        pool.debt_face,
        pool.loan_cash,
        pool.lender_face,
        pool.reserve,
    )
    .map_err(math)?;
    pool.riskless_balance = sub(pool.riskless_balance, s.from_pool)?;
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
    });
    Ok(())
}
