use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::errors::CrpError;
use crate::events::ReserveEvent;
use crate::instructions::shared::{add, transfer_in};
use crate::state::{CrpPool, pause};

#[derive(Accounts)]
pub struct SetCrpPause<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ CrpError::Unauthorized)]
    pub pool: AccountLoader<'info, CrpPool>,
}

/// Authority: set the pause bits (lend, borrow, swap, rebalance); settlement and redemptions
/// cannot be paused.
pub fn handle_set_pause(ctx: Context<SetCrpPause>, flags: u8) -> Result<()> {
    require!(flags & !pause::ALL == 0, CrpError::InvalidParameter);
    ctx.accounts.pool.load_mut()?.paused = flags;
    Ok(())
}

#[derive(Accounts)]
pub struct FundReserve<'info> {
    pub funder: Signer<'info>,
    #[account(mut, has_one = riskless_vault @ CrpError::WrongVault)]
    pub pool: AccountLoader<'info, CrpPool>,
    #[account(mut)]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = funder_riskless.mint == pool.load()?.riskless_mint @ CrpError::WrongMint, token::authority = funder)]
    pub funder_riskless: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Anyone: add riskless tokens to the pool's reserve fund (the operator seeding it, or a backstop).
pub fn handle_fund_reserve(ctx: Context<FundReserve>, amount: u64) -> Result<()> {
    require!(amount > 0, CrpError::ZeroAmount);
    {
        let pool = ctx.accounts.pool.load()?;
        require!(
            pool.status != crate::state::status::SETTLED,
            CrpError::WrongState
        );
    }
    let a = &ctx.accounts;
    transfer_in(
        &a.token_program,
        a.funder_riskless.to_account_info(),
        a.riskless_vault.to_account_info(),
        a.funder.to_account_info(),
        amount,
    )?;
    let mut pool = a.pool.load_mut()?;
    pool.reserve = add(pool.reserve, amount)?;
    emit!(ReserveEvent {
        pool: a.pool.key(),
        funder: a.funder.key(),
        amount,
        reserve: pool.reserve,
    });
    Ok(())
}
