use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::Rounding;
use keel_math::wide::mul_div_u128;

use crate::constants::DEAD_SHARES;
use crate::engine::{Valuation, value_pool};
use crate::errors::PerpError;
use crate::events::LpEvent;
use crate::instructions::shared::{PoolSeeds, mint_to, transfer_in};
use crate::state::{Pool, load_pool_marks, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct DepositArgs {
    /// Quote tokens to deposit (native units).
    pub amount: u64,
    /// Fewest LP shares acceptable (slippage guard).
    pub min_shares: u64,
}

/// Remaining accounts: the oracle of every active market, in market order.
#[derive(Accounts)]
pub struct Deposit<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault, has_one = lp_mint @ PerpError::WrongMint)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub lp_mint: Box<Account<'info, Mint>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_lp.mint == lp_mint.key() @ PerpError::WrongMint, token::authority = owner)]
    pub owner_lp: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn handle_deposit<'info>(ctx: Context<'info, Deposit<'info>>, args: DepositArgs) -> Result<()> {
    require!(args.amount > 0, PerpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let (shares, value, seeds) = {
        let pool = ctx.accounts.pool.load()?;
        pool.require_not_paused(pause::LP)?;
        require!(args.amount >= pool.min_deposit, PerpError::DepositTooSmall);
        let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now)?;
        let value = value_pool(&pool, &marks, Valuation::High)?.value;
        let total = pool.total_shares(ctx.accounts.lp_mint.supply);
        let shares = if total == 0 {
            // first deposit: shares 1:1, of which DEAD_SHARES are locked in the pool forever
            args.amount - DEAD_SHARES
        } else {
            require!(value > 0, PerpError::PoolInsolvent);
            let s = mul_div_u128(args.amount as u128, total, value as u128, Rounding::Down)
                .map_err(|_| error!(PerpError::MathOverflow))?;
            u64::try_from(s).map_err(|_| error!(PerpError::MathOverflow))?
        };
        (shares, value, PoolSeeds::of(&pool))
    };
    require!(shares > 0, PerpError::DepositTooSmall);
    require!(shares >= args.min_shares, PerpError::SlippageExceeded);

    let a = &ctx.accounts;
    transfer_in(
        &a.token_program,
        a.owner_quote.to_account_info(),
        a.vault.to_account_info(),
        a.owner.to_account_info(),
        args.amount,
    )?;
    mint_to(
        &a.token_program,
        a.lp_mint.to_account_info(),
        a.owner_lp.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        shares,
    )?;

    let mut pool = ctx.accounts.pool.load_mut()?;
    if pool.total_shares(ctx.accounts.lp_mint.supply) == 0 {
        pool.dead_shares = DEAD_SHARES;
    }
    pool.lp_capital = pool
        .lp_capital
        .checked_add(args.amount)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    emit!(LpEvent {
        pool: pool_key,
        owner: ctx.accounts.owner.key(),
        deposit: true,
        amount: args.amount,
        shares,
        pool_value: value,
        lp_capital: pool.lp_capital,
    });
    Ok(())
}
