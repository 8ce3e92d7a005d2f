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

/// `flags`: the [`pause`] bits to set; every other group is unpaused. Resuming closes restarts
/// the notice of announced market changes (traders could not act on them while paused).
pub fn handle_set_pause(ctx: Context<SetPause>, flags: u8) -> Result<()> {
    require!(flags & !pause::ALL == 0, PerpError::InvalidParameter);
    let mut pool = ctx.accounts.pool.load_mut()?;
    if pool.is_paused(pause::CLOSE) && flags & pause::CLOSE == 0 {
        pool.close_resumed_at = Clock::get()?.unix_timestamp;
    }
    pool.paused = flags;
    drop(pool);
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 0,
        value: Pubkey::default(),
        flags
    });
    Ok(())
}
