use anchor_lang::prelude::*;

use crate::errors::PerpError;
use crate::events::AdminEvent;
use crate::state::{Pool, pause};

#[derive(Accounts)]
pub struct SetPause<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// `flags`: the [`pause`] bits to set; every other group is unpaused.
pub fn handle_set_pause(ctx: Context<SetPause>, flags: u8) -> Result<()> {
    require!(flags & !pause::ALL == 0, PerpError::InvalidParameter);
    ctx.accounts.pool.load_mut()?.paused = flags;
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 0,
        value: Pubkey::default(),
        flags
    });
    Ok(())
}
