use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::Rounding;
use keel_math::crp::face_value;

use crate::errors::{CrpError, math};
use crate::events::LendEvent;
use crate::instructions::shared::{PoolSeeds, add, mint_claims, transfer_in};
use crate::state::{CrpPool, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct LendArgs {
    /// Riskless tokens to lend (native units).
    pub amount: u64,
    /// Fewest lender claims acceptable (slippage guard: the rate accrues to expiry from now).
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

/// Lend riskless tokens at the pool's fixed rate: claims = amount·(1 + r·τ), rounded down, each
/// paid one riskless unit at expiry. The cash waits in the pool until a borrower takes it.
pub fn handle_lend(ctx: Context<Lend>, args: LendArgs) -> Result<()> {
    require!(args.amount > 0, CrpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let (claims, seeds) = {
        let pool = ctx.accounts.pool.load()?;
        pool.require_not_paused(pause::LEND)?;
        pool.require_active(now)?;
        let claims = face_value(
            args.amount,
            pool.params.rate_bps,
            pool.secs_left(now),
            Rounding::Down,
        )
        .map_err(math)?;
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
    pool.lender_face = add(pool.lender_face, claims)?;
    emit!(LendEvent {
        pool: ctx.accounts.pool.key(),
        lender: ctx.accounts.lender.key(),
        amount: args.amount,
        claims,
        loan_cash: pool.loan_cash,
    });
    Ok(())
}
