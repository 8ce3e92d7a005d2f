use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use keel_math::Fix;

use crate::engine::{TradeInput, apply_liquidation};
use crate::errors::PerpError;
use crate::events::LiquidationEvent;
use crate::instructions::shared::transfer_out;
use crate::instructions::shared::{market_context, pool_risk_model};
use crate::state::{Market, OracleUse, Pool, Position, RiskModel, pause};

#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub keeper: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        mut,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref()],
        bump = position.bump,
        has_one = owner @ PerpError::NotPositionOwner,
        has_one = market @ PerpError::WrongMarket,
        has_one = pool @ PerpError::WrongPool,
    )]
    pub position: Box<Account<'info, Position>>,
    /// CHECK: the position's owner; receives the account's rent and any remaining collateral.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// (any account otherwise; the client passes the calendar's address either way).
    pub calendar: UncheckedAccount<'info>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = keeper_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint)]
    pub keeper_quote: Box<Account<'info, TokenAccount>>,
    /// The owner's account for what is left; it may be the keeper's own (`dup`): an owner
    /// liquidating himself names his account twice, and is paid no reward from the fund.
    #[account(mut, dup, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    /// The pool's risk model, required when it has one (see `Trade::risk_model`).
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
}

/// Close a position below maintenance margin at the oracle price. The keeper earns
/// `liquidation_fee_bps` of the notional from the remaining equity (from the default fund when
/// the equity is gone); the owner gets the rest; a loss beyond the collateral is bad debt, taken
/// by the default fund first and then by LP capital.
pub fn handle_liquidate(ctx: Context<Liquidate>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    let pool_key = a.pool.key();
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        &a.calendar,
        // a trader who may not close or add margin cannot defend his position: while closing
        // is paused, so are liquidations
        pause::LIQUIDATE | pause::CLOSE,
        OracleUse::RiskIncreasing,
        now,
    )?;
    let (price, seeds) = (mc.price, mc.seeds);
    // a liquidator may not reach back either: the print is at most 10 s old
    require!(
        now - price.publish_time <= crate::constants::EXECUTION_PRICE_MAX_AGE_SECS,
        PerpError::ExecutionPriceTooOld
    );
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let (reward, returned, event) = {
        let position = &mut a.position;
        let mut pool = a.pool.load_mut()?;
        // like an order's execution, a liquidation may not pick a price older than the market's
        pool.slot_mut(market.index)?.use_price(price.publish_time)?;
        let input = TradeInput {
            market,
            price,
            limit: Fix::ZERO,
            now,
            model: model.as_deref(),
            max_leverage: market.params.max_leverage,
        };
        let keeper_is_owner = a.keeper.key() == position.owner;
        let liq = apply_liquidation(&mut pool, position, &input, keeper_is_owner)?;
        let event = LiquidationEvent {
            pool: pool_key,
            market: market.key(),
            owner: position.owner,
            keeper: a.keeper.key(),
            size: liq.size,
            oracle_price: price.price.to_bits(),
            keeper_reward: liq.keeper_reward,
            returned_to_owner: liq.returned_to_owner,
            bad_debt: liq.fill.bad_debt,
            bad_debt_covered: liq.fill.bad_debt_covered,
        };
        (liq.keeper_reward, liq.returned_to_owner, event)
    };
    transfer_out(
        &a.token_program,
        a.vault.to_account_info(),
        a.keeper_quote.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        reward,
    )?;
    transfer_out(
        &a.token_program,
        a.vault.to_account_info(),
        a.owner_quote.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        returned,
    )?;
    emit!(event);
    // the account stays (empty) while requests still name it: they are cleared through it
    if a.position.pending_requests == 0 {
        anchor_lang::AccountsClose::close(&a.position, a.owner.to_account_info())?;
    }
    Ok(())
}
