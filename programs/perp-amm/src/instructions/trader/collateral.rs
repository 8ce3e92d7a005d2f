use anchor_lang::prelude::*;

use crate::errors::PerpError;
use crate::events::CollateralEvent;
use crate::instructions::shared::{check_slot, transfer_in};
use crate::instructions::trader::Trade;
use crate::state::pause;

/// Post more margin. Needs no price: it only makes the position safer.
pub fn handle_add_collateral(ctx: Context<Trade>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let a = &mut *ctx.accounts;
    // margin on an empty position (kept open by pending requests) would back nothing
    require!(a.position.size != 0, PerpError::NoPosition);
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
    let before = (position.size, position.collateral);
    position.collateral = position
        .collateral
        .checked_add(amount)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    pool.total_collateral = pool
        .total_collateral
        .checked_add(amount)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    crate::engine::sync_side_collateral(&mut pool, a.market.index, before, position)?;
    emit!(CollateralEvent {
        position: position.key(),
        owner: position.owner,
        amount: amount as i64,
        collateral: position.collateral
    });
    Ok(())
}
