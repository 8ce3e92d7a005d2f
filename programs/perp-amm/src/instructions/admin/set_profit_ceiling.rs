use anchor_lang::prelude::*;

use crate::constants::PROFIT_CEILING_RANGE_BPS;
use crate::errors::PerpError;
use crate::events::AdminEvent;
use crate::state::Pool;

#[derive(Accounts)]
pub struct SetProfitCeiling<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The pool authority sets auto-deleveraging's ceiling, bps of LP capital, within
/// [`PROFIT_CEILING_RANGE_BPS`]. It applies at once: deleveraging pays winners in full at the
/// oracle price, so a lower ceiling costs a trader no money, only gains not yet made.
pub fn handle_set_profit_ceiling(ctx: Context<SetProfitCeiling>, bps: u32) -> Result<()> {
    require!(
        PROFIT_CEILING_RANGE_BPS.contains(&bps),
        PerpError::InvalidParameter
    );
    ctx.accounts.pool.load_mut()?.max_trader_profit_bps = bps;
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 8,
        value: Pubkey::default(),
        flags: 0
    });
    Ok(())
}
