//! Keel collateral rebalancing pool (ALEX, seed 004): fixed-term, fixed-rate loans against a pool
//! of a risky and a riskless token whose weights follow an EMA-smoothed Black–Scholes call delta,
//! traded by arbitrageurs through a weighted geometric-mean market maker, converted entirely to
//! the riskless token when the loan-to-value reaches a threshold, and settled at expiry: lenders
//! at par first, borrowers the residual, a reserve fund for any shortfall. See README.md.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod oracle;
pub mod state;

use instructions::*;

declare_id!("bXv4uMUhqQfsLUnsGSVk7omFfjCL8SoMEhwMYon7b2U");

#[program]
pub mod collateral_pool {
    use super::*;

    /// Create a pool for (risky mint, riskless mint, expiry): vaults, claim mints, parameters,
    /// and the first weight (the call delta at the oracle price).
    pub fn init_pool(ctx: Context<InitCrpPool>, args: InitCrpPoolArgs) -> Result<()> {
        instructions::init_pool::handle_init_pool(ctx, args)
    }

    /// Lend riskless tokens for lender claims: shares of what lenders are owed at expiry (unlent
    /// cash plus the debt at face), priced at what is owed now.
    pub fn lend(ctx: Context<Lend>, args: LendArgs) -> Result<()> {
        instructions::lend::handle_lend(ctx, args)
    }

    /// Post risky collateral (with the riskless that keeps the pool's proportions) and borrow up
    /// to the initial LTV, for residual claims; no liquidation.
    pub fn borrow(ctx: Context<Borrow>, args: BorrowArgs) -> Result<()> {
        instructions::borrow::handle_borrow(ctx, args)
    }

    /// Trade risky against riskless: the weighted pool while active, the discounted conversion
    /// sale while converting or settling.
    pub fn swap(ctx: Context<SwapTokens>, args: SwapArgs) -> Result<()> {
        instructions::swap::handle_swap(ctx, args)
    }

    /// Keeper: re-weight toward the EMA-smoothed call delta, or start the flight to quality.
    pub fn rebalance(ctx: Context<Rebalance>) -> Result<()> {
        instructions::rebalance::handle_rebalance(ctx)
    }

    /// Anyone: start the flight to quality once the LTV has reached the conversion threshold.
    pub fn trigger_conversion(ctx: Context<TriggerConversion>) -> Result<()> {
        instructions::trigger_conversion::handle_trigger_conversion(ctx)
    }

    /// Anyone, after expiry: pay the debt to the lenders' side and open redemptions.
    pub fn settle(ctx: Context<Settle>) -> Result<()> {
        instructions::settle::handle_settle(ctx)
    }

    /// Burn lender claims for their share of the lender pot (riskless, and risky after a
    /// settlement in kind).
    pub fn redeem_lender(ctx: Context<RedeemLender>, claims: u64) -> Result<()> {
        instructions::redeem::handle_redeem_lender(ctx, claims)
    }

    /// Burn residual claims for their share of what the pool holds after lenders.
    pub fn redeem_borrower(ctx: Context<RedeemBorrower>, claims: u64) -> Result<()> {
        instructions::redeem::handle_redeem_borrower(ctx, claims)
    }

    /// Anyone: add riskless tokens to the reserve fund.
    pub fn fund_reserve(ctx: Context<FundReserve>, amount: u64) -> Result<()> {
        instructions::admin::handle_fund_reserve(ctx, amount)
    }

    /// Authority: set the pause bits.
    pub fn set_pause(ctx: Context<SetCrpPause>, flags: u8) -> Result<()> {
        instructions::admin::handle_set_pause(ctx, flags)
    }
}
