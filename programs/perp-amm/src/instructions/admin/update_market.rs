use anchor_lang::prelude::*;

use crate::engine::accrue_funding;
use crate::errors::PerpError;
use crate::events::MarketEvent;
use crate::state::{Market, MarketParams, OracleUse, Pool, load_price};

#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type
    /// when the funding rate changes.
    pub oracle: UncheckedAccount<'info>,
}

/// The pool authority changes a market's parameters at once, provided the change worsens no
/// open position's terms ([`MarketParams::worsens`]) or the market has no open interest; one
/// that does must be announced with `propose_market_change` and wait its notice.
pub fn handle_update_market(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let idle = {
        let pool = ctx.accounts.pool.load()?;
        let slot = pool.slot(ctx.accounts.market.index)?;
        slot.long_oi == 0 && slot.short_oi == 0
    };
    require!(
        idle || !ctx.accounts.market.params.worsens(&params)?,
        PerpError::ChangeNeedsNotice
    );
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    set_market_params(
        &mut pool,
        &pool_key,
        &mut ctx.accounts.market,
        &ctx.accounts.oracle,
        params,
        Clock::get()?.unix_timestamp,
    )
}

/// Gives `market` its new parameters and the pool's slot their copies. A change of the funding
/// rate first accrues the market's funding to now at the old rate (on a valid print when the
/// book is skewed; a balanced one accrues nothing and needs none), so the new rate applies from
/// now on, never to time already past.
pub(crate) fn set_market_params(
    pool: &mut Pool,
    pool_key: &Pubkey,
    market: &mut Account<Market>,
    oracle: &AccountInfo,
    params: MarketParams,
    now: i64,
) -> Result<()> {
    {
        let slot = pool.slot(market.index)?;
        require_keys_eq!(slot.market, market.key(), PerpError::WrongMarket);
    }
    if params.max_funding_rate_e9 != market.params.max_funding_rate_e9 {
        let slot = pool.slot(market.index)?;
        if slot.long_oi != slot.short_oi {
            let price = load_price(
                oracle,
                &market.oracle_spec(),
                pool_key,
                pool.quote_decimals,
                now,
                OracleUse::RiskReducing,
            )?;
            accrue_funding(
                pool.slot_mut(market.index)?,
                &market.params,
                price.price,
                now,
            )?;
        } else {
            // a balanced book accrues nothing: no price needed to close the old rate's period
            pool.slot_mut(market.index)?.last_funding_ts = now;
        }
    }
    market.params = params;
    let distance_to_default = pool.distance_to_default();
    pool.slot_mut(market.index)?
        .sync_from(market, distance_to_default)?;
    emit!(MarketEvent {
        pool: *pool_key,
        market: market.key(),
        index: market.index,
        added: false
    });
    Ok(())
}
