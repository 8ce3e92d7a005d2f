use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::crp::pro_rata;

use crate::errors::{CrpError, math};
use crate::events::RedeemEvent;
use crate::instructions::shared::{PoolSeeds, burn_claims, sub, transfer_out};
use crate::state::{CrpPool, status};

#[derive(Accounts)]
pub struct RedeemLender<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = risky_vault @ CrpError::WrongVault,
        has_one = riskless_vault @ CrpError::WrongVault,
        has_one = lender_mint @ CrpError::WrongMint,
    )]
    pub pool: AccountLoader<'info, CrpPool>,
    #[account(mut)]
    pub risky_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub lender_mint: Box<Account<'info, Mint>>,
    #[account(mut, constraint = owner_claims.mint == lender_mint.key() @ CrpError::WrongMint, token::authority = owner)]
    pub owner_claims: Box<Account<'info, TokenAccount>>,
    // a vault as the destination is refused by Anchor's duplicate-writable-account check (a
    // redemption into it would leave the tokens there while the accounting dropped them)
    #[account(mut, constraint = owner_risky.mint == pool.load()?.risky_mint @ CrpError::WrongMint)]
    pub owner_risky: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_riskless.mint == pool.load()?.riskless_mint @ CrpError::WrongMint)]
    pub owner_riskless: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// After settlement: burn lender claims for their share of what lenders were paid: riskless
/// (par, with the interest of the loans their cash funded, pro rata if the reserve fund could
/// not make lenders whole) and, after a settlement in kind, risky.
pub fn handle_redeem_lender(ctx: Context<RedeemLender>, claims: u64) -> Result<()> {
    require!(claims > 0, CrpError::ZeroAmount);
    let (payout, risky_out, seeds) = {
        let mut pool = ctx.accounts.pool.load_mut()?;
        require!(pool.status == status::SETTLED, CrpError::NotSettled);
        let supply = pool.lender_claims;
        let payout = pro_rata(pool.lender_assets, claims, supply).map_err(math)?;
        let risky_out = pro_rata(pool.lender_risky, claims, supply).map_err(math)?;
        pool.lender_claims = sub(supply, claims)?;
        pool.lender_assets = sub(pool.lender_assets, payout)?;
        pool.lender_risky = sub(pool.lender_risky, risky_out)?;
        (payout, risky_out, PoolSeeds::of(&pool))
    };
    let a = &ctx.accounts;
    burn_claims(
        &a.token_program,
        a.lender_mint.to_account_info(),
        a.owner_claims.to_account_info(),
        a.owner.to_account_info(),
        claims,
    )?;
    transfer_out(
        &a.token_program,
        a.riskless_vault.to_account_info(),
        a.owner_riskless.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        payout,
    )?;
    transfer_out(
        &a.token_program,
        a.risky_vault.to_account_info(),
        a.owner_risky.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        risky_out,
    )?;
    emit!(RedeemEvent {
        pool: a.pool.key(),
        owner: a.owner.key(),
        lender: true,
        claims,
        risky_out,
        riskless_out: payout,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct RedeemBorrower<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = risky_vault @ CrpError::WrongVault,
        has_one = riskless_vault @ CrpError::WrongVault,
        has_one = residual_mint @ CrpError::WrongMint,
    )]
    pub pool: AccountLoader<'info, CrpPool>,
    #[account(mut)]
    pub risky_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub residual_mint: Box<Account<'info, Mint>>,
    #[account(mut, constraint = owner_residual.mint == residual_mint.key() @ CrpError::WrongMint, token::authority = owner)]
    pub owner_residual: Box<Account<'info, TokenAccount>>,
    // a vault as the destination is refused by Anchor's duplicate-writable-account check (a
    // redemption into it would leave the tokens there while the accounting dropped them)
    #[account(mut, constraint = owner_risky.mint == pool.load()?.risky_mint @ CrpError::WrongMint)]
    pub owner_risky: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_riskless.mint == pool.load()?.riskless_mint @ CrpError::WrongMint)]
    pub owner_riskless: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// After settlement: burn residual claims for their share of what is left in the pool, in kind
/// (risky and riskless), so a borrower keeps the risky asset's upside.
pub fn handle_redeem_borrower(ctx: Context<RedeemBorrower>, claims: u64) -> Result<()> {
    require!(claims > 0, CrpError::ZeroAmount);
    let (risky_out, riskless_out, seeds) = {
        let mut pool = ctx.accounts.pool.load_mut()?;
        require!(pool.status == status::SETTLED, CrpError::NotSettled);
        let supply = pool.residual_supply;
        let risky = pro_rata(pool.risky_balance, claims, supply).map_err(math)?;
        let riskless = pro_rata(pool.riskless_balance, claims, supply).map_err(math)?;
        pool.residual_supply = sub(supply, claims)?;
        pool.risky_balance = sub(pool.risky_balance, risky)?;
        pool.riskless_balance = sub(pool.riskless_balance, riskless)?;
        (risky, riskless, PoolSeeds::of(&pool))
    };
    let a = &ctx.accounts;
    burn_claims(
        &a.token_program,
        a.residual_mint.to_account_info(),
        a.owner_residual.to_account_info(),
        a.owner.to_account_info(),
        claims,
    )?;
    transfer_out(
        &a.token_program,
        a.risky_vault.to_account_info(),
        a.owner_risky.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        risky_out,
    )?;
    transfer_out(
        &a.token_program,
        a.riskless_vault.to_account_info(),
        a.owner_riskless.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        riskless_out,
    )?;
    emit!(RedeemEvent {
        pool: a.pool.key(),
        owner: a.owner.key(),
        lender: false,
        claims,
        risky_out,
        riskless_out,
    });
    Ok(())
}
