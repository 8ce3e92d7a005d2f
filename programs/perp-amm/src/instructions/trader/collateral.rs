use anchor_lang::prelude::*;

use crate::engine::{check_withdrawal_margin, settle_funding};
use crate::errors::PerpError;
use crate::events::CollateralEvent;
use crate::instructions::shared::{check_slot, market_context, transfer_in, transfer_out};
use crate::instructions::trader::Trade;
use crate::state::{OracleUse, pause};

/// Post more margin. Needs no price: it only makes the position safer.
pub fn handle_add_collateral(ctx: Context<Trade>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let a = &mut *ctx.accounts;
    {
        let pool = a.pool.load()?;
        pool.require_not_paused(pause::CLOSE)?;
        check_slot(&pool, &a.market)?;
    }
    transfer_in(
        &a.token_program,
        a.owner_quote.to_account_info(),
        a.vault.to_account_info(),
        a.owner.to_account_info(),
        amount,
    )?;
    let position = &mut a.position;
    let mut pool = a.pool.load_mut()?;
    position.collateral = position
        .collateral
        .checked_add(amount)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    pool.total_collateral = pool
        .total_collateral
        .checked_add(amount)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    emit!(CollateralEvent {
        position: position.key(),
        owner: position.owner,
        amount: amount as i64,
        collateral: position.collateral
    });
    Ok(())
}

/// Take margin out: funding is settled first, and the position must still meet the initial
/// margin (max leverage) at a fresh price without counting unrealised profit.
pub fn handle_remove_collateral(ctx: Context<Trade>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        pause::OPEN,
        OracleUse::RiskIncreasing,
        now,
    )?;
    let (price, seeds) = (mc.price, mc.seeds);
    {
        let position = &mut a.position;
        let mut pool = a.pool.load_mut()?;
        settle_funding(
            &mut pool,
            market.index,
            &market.params,
            position,
            price.price,
            now,
        )?;
        require!(
            position.collateral >= amount,
            PerpError::InsufficientCollateral
        );
        position.collateral -= amount;
        pool.total_collateral -= amount;
        if position.size != 0 {
            check_withdrawal_margin(
                pool.slot(market.index)?,
                position,
                &market.params,
                price.price,
            )?;
        }
        emit!(CollateralEvent {
            position: position.key(),
            owner: position.owner,
            amount: -(amount as i64),
            collateral: position.collateral,
        });
    }
    transfer_out(
        &a.token_program,
        a.vault.to_account_info(),
        a.owner_quote.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        amount,
    )
}
