use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::errors::PerpError;
use crate::instructions::shared::transfer_in;
use crate::state::{Pool, pause};

#[derive(Accounts)]
pub struct FundDefaultFund<'info> {
    pub funder: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = funder_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = funder)]
    pub funder_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Anyone (typically the operator at launch) may add to the default fund; it is never
/// withdrawn, only spent on bad debt and on keeper rewards for insolvent positions.
pub fn handle_fund_default_fund(ctx: Context<FundDefaultFund>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    ctx.accounts.pool.load()?.require_not_paused(pause::LP)?;
    let a = &ctx.accounts;
    transfer_in(
        &a.token_program,
        a.funder_quote.to_account_info(),
        a.vault.to_account_info(),
        a.funder.to_account_info(),
        amount,
    )?;
    let mut pool = ctx.accounts.pool.load_mut()?;
    pool.default_fund = pool
        .default_fund
        .checked_add(amount)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    Ok(())
}
