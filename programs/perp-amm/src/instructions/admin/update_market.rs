use anchor_lang::prelude::*;

use crate::errors::PerpError;
use crate::events::MarketEvent;
use crate::state::{Market, MarketParams, Pool};

#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
}

pub fn handle_update_market(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let market = &mut ctx.accounts.market;
    market.params = params;
    let mut pool = ctx.accounts.pool.load_mut()?;
    let distance_to_default = pool.distance_to_default();
    let slot = pool.slot_mut(market.index)?;
    require_keys_eq!(slot.market, market.key(), PerpError::WrongMarket);
    slot.sync_from(market, distance_to_default)?;
    emit!(MarketEvent {
        pool: ctx.accounts.pool.key(),
        market: market.key(),
        index: market.index,
        added: false
    });
    Ok(())
}
