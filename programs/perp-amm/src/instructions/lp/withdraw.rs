use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::Rounding;
use keel_math::wide::mul_div_u128;

use crate::engine::{Valuation, value_pool};
use crate::errors::PerpError;
use crate::events::LpEvent;
use crate::instructions::shared::{PoolSeeds, burn, transfer_out};
use crate::state::{Pool, load_pool_marks, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct WithdrawArgs {
    /// LP shares to burn.
    pub shares: u64,
    /// Fewest quote tokens acceptable (slippage guard).
    pub min_amount: u64,
}

/// Remaining accounts: the oracle of every active market, in market order.
#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault, has_one = lp_mint @ PerpError::WrongMint)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub lp_mint: Box<Account<'info, Mint>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_lp.mint == lp_mint.key() @ PerpError::WrongMint, token::authority = owner)]
    pub owner_lp: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn handle_withdraw<'info>(
    ctx: Context<'info, Withdraw<'info>>,
    args: WithdrawArgs,
) -> Result<()> {
    require!(args.shares > 0, PerpError::ZeroAmount);
    require!(
        ctx.accounts.owner_lp.amount >= args.shares,
        PerpError::InsufficientShares
    );
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let (amount, value, seeds) = {
        let pool = ctx.accounts.pool.load()?;
        pool.require_not_paused(pause::LP)?;
        let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now)?;
        let valuation = value_pool(&pool, &marks, Valuation::Low)?;
        let value = valuation.value;
        require!(value > 0, PerpError::PoolInsolvent);
        let total = pool.total_shares(ctx.accounts.lp_mint.supply);
        let amount = mul_div_u128(args.shares as u128, value as u128, total, Rounding::Down)
            .map_err(|_| error!(PerpError::MathOverflow))?;
        let amount = u64::try_from(amount).map_err(|_| error!(PerpError::MathOverflow))?;
        // never more than the free LP capital: traders' open positions keep their reserve
        // valuing low always sizes the reserve (`None` only when valuing high, for deposits)
        let reserved = valuation.reserved.unwrap_or(0);
        require!(
            amount as u128 + reserved <= pool.lp_capital as u128,
            PerpError::CapitalReserved
        );
        (amount, value, PoolSeeds::of(&pool))
    };
    require!(amount > 0, PerpError::ZeroAmount);
    require!(amount >= args.min_amount, PerpError::SlippageExceeded);

    let a = &ctx.accounts;
    burn(
        &a.token_program,
        a.lp_mint.to_account_info(),
        a.owner_lp.to_account_info(),
        a.owner.to_account_info(),
        args.shares,
    )?;
    transfer_out(
        &a.token_program,
        a.vault.to_account_info(),
        a.owner_quote.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        amount,
    )?;

    let mut pool = ctx.accounts.pool.load_mut()?;
    pool.lp_capital -= amount;
    emit!(LpEvent {
        pool: pool_key,
        owner: ctx.accounts.owner.key(),
        deposit: false,
        amount,
        shares: args.shares,
        pool_value: value,
        lp_capital: pool.lp_capital,
    });
    Ok(())
}
