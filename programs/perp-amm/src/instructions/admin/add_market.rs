use anchor_lang::prelude::*;

use crate::constants::{MARKET_SEED, MAX_MARKETS};
use crate::errors::{PerpError, onchain};
use crate::events::MarketEvent;
use crate::state::{Market, MarketParams, OracleKind, Pool, read_raw};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct AddMarketArgs {
    pub symbol: [u8; 16],
    pub base_decimals: u8,
    pub oracle_kind: OracleKind,
    pub feed_id: [u8; 32],
    pub params: MarketParams,
}

#[derive(Accounts)]
pub struct AddMarket<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(
        init,
        payer = authority,
        space = 8 + Market::INIT_SPACE,
        seeds = [MARKET_SEED, pool.key().as_ref(), &[pool.load()?.market_count]],
        bump,
    )]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: the price account the market will read; its owner, type, pool and feed id are
    /// checked below and again on every read.
    pub oracle: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn handle_add_market(ctx: Context<AddMarket>, args: AddMarketArgs) -> Result<()> {
    args.params.validate()?;
    require!(args.base_decimals <= 18, PerpError::InvalidParameter);
    let pool_key = ctx.accounts.pool.key();
    read_raw(
        &ctx.accounts.oracle.to_account_info(),
        args.oracle_kind,
        &pool_key,
        Some(&args.feed_id),
    )
    .map_err(onchain)?;

    let mut pool = ctx.accounts.pool.load_mut()?;
    let index = pool.market_count;
    require!((index as usize) < MAX_MARKETS, PerpError::TooManyMarkets);
    let market = &mut ctx.accounts.market;
    market.pool = pool_key;
    market.index = index;
    market.bump = ctx.bumps.market;
    market.base_decimals = args.base_decimals;
    market.oracle_kind = args.oracle_kind;
    market.symbol = args.symbol;
    market.oracle = ctx.accounts.oracle.key();
    market.feed_id = args.feed_id;
    market.params = args.params;

    let now = Clock::get()?.unix_timestamp;
    let distance_to_default = pool.distance_to_default();
    let slot = pool.slot_mut(index)?;
    slot.market = market.key();
    slot.sync_from(market, distance_to_default)?;
    slot.last_funding_ts = now;
    slot.active = 1;
    pool.market_count += 1;
    emit!(MarketEvent {
        pool: pool_key,
        market: market.key(),
        index,
        added: true
    });
    Ok(())
}
