use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::crp::lender_claims;

use crate::errors::{CrpError, math};
use crate::events::LendEvent;
use crate::instructions::shared::{PoolSeeds, add, mint_claims, transfer_in};
use crate::state::{CrpPool, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct LendArgs {
    /// Riskless tokens to lend (native units).
    pub amount: u64,
    /// Fewest lender claims acceptable (slippage guard: a loan taken before this lands raises
    /// what a claim costs).
    pub min_claims: u64,
}

#[derive(Accounts)]
pub struct Lend<'info> {
    pub lender: Signer<'info>,
    #[account(mut, has_one = riskless_vault @ CrpError::WrongVault, has_one = lender_mint @ CrpError::WrongMint)]
    pub pool: AccountLoader<'info, CrpPool>,
    #[account(mut)]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub lender_mint: Box<Account<'info, Mint>>,
    #[account(mut, constraint = lender_riskless.mint == pool.load()?.riskless_mint @ CrpError::WrongMint, token::authority = lender)]
    pub lender_riskless: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = lender_claims.mint == lender_mint.key() @ CrpError::WrongMint, token::authority = lender)]
    pub lender_claims: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Lend riskless tokens. Claims are shares of what the pool owes its lenders at expiry (unlent
/// cash plus the borrowers' debt at face value): the first lender gets one per unit, a later one
/// buys in at the interest already promised (rounded down). The cash waits in the pool until a
/// borrower takes it; the interest of each loan goes to the lenders whose cash was in the pool
/// when it was taken, pro rata, and idle cash earns nothing.
pub fn handle_lend(ctx: Context<Lend>, args: LendArgs) -> Result<()> {
    require!(args.amount > 0, CrpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let (claims, seeds) = {
        let pool = ctx.accounts.pool.load()?;
        pool.require_not_paused(pause::LEND)?;
        pool.require_active(now)?;
        let owed = add(pool.loan_cash, pool.debt_face)?;
        let claims = lender_claims(args.amount, owed, pool.lender_claims).map_err(math)?;
        require!(claims > 0, CrpError::ZeroAmount);
        (claims, PoolSeeds::of(&pool))
    };
    require!(claims >= args.min_claims, CrpError::SlippageExceeded);
    let a = &ctx.accounts;
    transfer_in(
        &a.token_program,
        a.lender_riskless.to_account_info(),
        a.riskless_vault.to_account_info(),
        a.lender.to_account_info(),
        args.amount,
    )?;
    mint_claims(
        &a.token_program,
        a.lender_mint.to_account_info(),
        a.lender_claims.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        claims,
    )?;
    let mut pool = ctx.accounts.pool.load_mut()?;
    pool.loan_cash = add(pool.loan_cash, args.amount)?;
    pool.lender_claims = add(pool.lender_claims, claims)?;
    emit!(LendEvent {
        pool: ctx.accounts.pool.key(),
        lender: ctx.accounts.lender.key(),
        amount: args.amount,
        claims,
        loan_cash: pool.loan_cash,
    });
    Ok(())
}
