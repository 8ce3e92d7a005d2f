use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::crp::{face_value, present_value, residual_claims, risky_value};
use keel_math::wide::mul_div_u128;
use keel_math::{MathError, Rounding};

use crate::constants::BPS;
use crate::errors::{CrpError, math};
use crate::events::BorrowEvent;
use crate::instructions::shared::{
    PoolSeeds, add, clear_breach_if_recovered, mint_claims, pool_ltv_bps, pool_value, sub,
    transfer_in, transfer_out,
};
use crate::oracle::load_prices;
use crate::state::{CrpPool, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct BorrowArgs {
    /// Risky tokens to post as collateral (native units).
    pub collateral: u64,
    /// Riskless tokens to borrow (native units); the debt is loan·(1 + r·τ) at expiry.
    pub loan: u64,
    /// Most riskless the borrower will add alongside the collateral (slippage guard).
    pub max_riskless_leg: u64,
    /// Fewest residual claims acceptable.
    pub min_residual: u64,
}

#[derive(Accounts)]
pub struct Borrow<'info> {
    pub borrower: Signer<'info>,
    #[account(
        mut,
        has_one = risky_vault @ CrpError::WrongVault,
        has_one = riskless_vault @ CrpError::WrongVault,
        has_one = residual_mint @ CrpError::WrongMint,
    )]
    pub pool: AccountLoader<'info, CrpPool>,
    /// CHECK: the pool's oracle, checked by `load_prices`.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut)]
    pub risky_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub residual_mint: Box<Account<'info, Mint>>,
    #[account(mut, constraint = borrower_risky.mint == pool.load()?.risky_mint @ CrpError::WrongMint, token::authority = borrower)]
    pub borrower_risky: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = borrower_riskless.mint == pool.load()?.riskless_mint @ CrpError::WrongMint, token::authority = borrower)]
    pub borrower_riskless: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = borrower_residual.mint == residual_mint.key() @ CrpError::WrongMint, token::authority = borrower)]
    pub borrower_residual: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

struct Terms {
    leg: u64,
    debt: u64,
    residual: u64,
}

/// Post risky collateral and take a fixed-rate loan to expiry. No liquidation: the collateral
/// joins the pool, which re-weights toward the riskless asset as the price falls, and the
/// borrower's residual claims take what is left after lenders at expiry.
///
/// The collateral joins at the pool's current proportions, so the pool's price does not move:
/// the borrower adds `riskless_leg` riskless with it (netted against the loan). The loan is at
/// most the initial LTV of what is added, valued at the low end of the oracle's confidence
/// interval.
pub fn handle_borrow(ctx: Context<Borrow>, args: BorrowArgs) -> Result<()> {
    require!(args.collateral > 0 && args.loan > 0, CrpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let (terms, ltv, seeds) = {
        let mut pool = ctx.accounts.pool.load_mut()?;
        pool.require_not_paused(pause::BORROW)?;
        pool.require_active(now)?;
        let prices = load_prices(&pool, &ctx.accounts.oracle, now)?;
        let terms = price_loan(&pool, &args, &prices, now)?;
        pool.record_price(&prices);
        clear_breach_if_recovered(&mut pool, &prices)?;
        pool.risky_balance = add(pool.risky_balance, args.collateral)?;
        pool.riskless_balance = add(pool.riskless_balance, terms.leg)?;
        // a borrow joins at the pool's proportions: it is not a swap, so the slot's swap
        // movement is measured from balances that include it
        if pool.swap_slot == Clock::get()?.slot {
            pool.slot_risky_start = add(pool.slot_risky_start, args.collateral)?;
            pool.slot_riskless_start = add(pool.slot_riskless_start, terms.leg)?;
        }
        pool.loan_cash = sub(pool.loan_cash, args.loan)?;
        pool.debt_face = add(pool.debt_face, terms.debt)?;
        pool.residual_supply = add(pool.residual_supply, terms.residual)?;
        let ltv = pool_ltv_bps(&pool, &prices)?;
        require!(
            ltv < pool.params.conversion_ltv_bps,
            CrpError::WouldTriggerConversion
        );
        (terms, ltv, PoolSeeds::of(&pool))
    };

    let a = &ctx.accounts;
    transfer_in(
        &a.token_program,
        a.borrower_risky.to_account_info(),
        a.risky_vault.to_account_info(),
        a.borrower.to_account_info(),
        args.collateral,
    )?;
    // the riskless leg and the loan cross: one transfer of the difference
    if args.loan >= terms.leg {
        transfer_out(
            &a.token_program,
            a.riskless_vault.to_account_info(),
            a.borrower_riskless.to_account_info(),
            a.pool.to_account_info(),
            &seeds.seeds(),
            args.loan - terms.leg,
        )?;
    } else {
        transfer_in(
            &a.token_program,
            a.borrower_riskless.to_account_info(),
            a.riskless_vault.to_account_info(),
            a.borrower.to_account_info(),
            terms.leg - args.loan,
        )?;
    }
    mint_claims(
        &a.token_program,
        a.residual_mint.to_account_info(),
        a.borrower_residual.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        terms.residual,
    )?;
    emit!(BorrowEvent {
        pool: pool_key,
        borrower: a.borrower.key(),
        collateral: args.collateral,
        riskless_leg: terms.leg,
        loan: args.loan,
        debt: terms.debt,
        residual_claims: terms.residual,
        pool_ltv_bps: ltv,
    });
    Ok(())
}

fn price_loan(
    pool: &CrpPool,
    args: &BorrowArgs,
    prices: &crate::oracle::Prices,
    now: i64,
) -> Result<Terms> {
    let overflow = |_| error!(CrpError::MathOverflow);
    // the riskless that keeps the pool's proportions: its balance ratio, or for the first
    // borrower the weight at the oracle price (y/x = P·(1 − w)/w), rounded up
    let leg = if pool.risky_balance == 0 {
        let w = pool.weight_at(now)?.to_bits() as u128;
        let value = risky_value(args.collateral, prices.mid, Rounding::Up).map_err(math)?;
        mul_div_u128(value as u128, (1u128 << 64) - w, w, Rounding::Up).map_err(math)?
    } else {
        mul_div_u128(
            args.collateral as u128,
            pool.riskless_balance as u128,
            pool.risky_balance as u128,
            Rounding::Up,
        )
        .map_err(math)?
    };
    let leg = u64::try_from(leg).map_err(overflow)?;
    require!(leg <= args.max_riskless_leg, CrpError::SlippageExceeded);

    let added = add(
        risky_value(args.collateral, prices.low, Rounding::Down).map_err(math)?,
        leg,
    )?;
    require!(
        (args.loan as u128) * (BPS as u128)
            <= (pool.params.initial_ltv_bps as u128) * (added as u128),
        CrpError::LoanToValue
    );
    require!(args.loan <= pool.loan_cash, CrpError::InsufficientLiquidity);

    let secs = pool.secs_left(now);
    let rate = pool.params.rate_bps;
    let debt = face_value(args.loan, rate, secs, Rounding::Up).map_err(math)?;
    // residual equity in present values: the pool valued high and its debt discounted low, so
    // existing claims are never diluted by a price at the favourable end for the newcomer
    let before = pool_value(pool, prices.high, Rounding::Up)? as i128
        - present_value(pool.debt_face, rate, secs, Rounding::Down).map_err(math)? as i128;
    let residual =
        residual_claims(added - args.loan, before, pool.residual_supply).map_err(|e| match e {
            MathError::Domain => error!(CrpError::PoolUnderwater),
            e => math(e),
        })?;
    require!(residual > 0, CrpError::ZeroAmount);
    require!(residual >= args.min_residual, CrpError::SlippageExceeded);
    Ok(Terms {
        leg,
        debt,
        residual,
    })
}
