use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use crate::engine::{Pricing, below_maintenance, bps_or_zero, fill, position_notional};
use crate::errors::PerpError;
use crate::events::LiquidationEvent;
use crate::instructions::shared::transfer_out;
use crate::instructions::trader::{market_context, pool_risk_model, track_imbalance};
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
        close = owner,
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
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = keeper_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint)]
    pub keeper_quote: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
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
        pause::LIQUIDATE,
        OracleUse::RiskIncreasing,
        now,
    )?;
    let (price, seeds) = (mc.price, mc.seeds);
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let (reward, returned, event) = {
        let position = &mut a.position;
        let mut pool = a.pool.load_mut()?;
        {
            let slot = pool.slot(market.index)?;
            require!(position.size != 0, PerpError::NotLiquidatable);
            require!(
                below_maintenance(slot, position, &market.params, price.price)?,
                PerpError::NotLiquidatable
            );
        }
        let size = position.size;
        let fee = bps_or_zero(
            position_notional(position, price.price)?,
            market.params.liquidation_fee_bps,
        )?;
        let out = fill(
            &mut pool,
            market.index,
            &market.params,
            position,
            -size,
            &price,
            now,
            Pricing::Liquidation,
            None,
        )?;
        track_imbalance(
            &mut pool,
            model.as_deref(),
            market,
            -size,
            price.price,
            now,
            false,
        )?;
        // the reward comes from what is left of the collateral, topped up by the default fund
        let from_collateral = fee.min(position.collateral);
        let from_fund = (fee - from_collateral).min(pool.default_fund);
        pool.default_fund -= from_fund;
        let returned = position.collateral - from_collateral;
        pool.total_collateral -= position.collateral;
        position.collateral = 0;
        let event = LiquidationEvent {
            pool: pool_key,
            market: market.key(),
            owner: position.owner,
            keeper: a.keeper.key(),
            size,
            oracle_price: price.price.to_bits(),
            keeper_reward: from_collateral + from_fund,
            returned_to_owner: returned,
            bad_debt: out.bad_debt,
            bad_debt_covered: out.bad_debt_covered,
        };
        (from_collateral + from_fund, returned, event)
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
    Ok(())
}
