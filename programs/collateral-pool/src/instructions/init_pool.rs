use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::Fix;
use keel_math::crp::{MAX_WEIGHT, MIN_WEIGHT, rebalance, years};
use keel_onchain::oracle::{OracleKind, scale_pow10};

use crate::constants::{
    BPS, CRP_POOL_SEED, E9, LENDER_MINT_SEED, MAX_TERM_SECS, MIN_REBALANCE_INTERVAL_SECS,
    MIN_TERM_SECS, RESIDUAL_MINT_SEED, RISKLESS_VAULT_SEED, RISKY_VAULT_SEED,
};
use crate::errors::{CrpError, math};
use crate::oracle::{OracleSettings, read_prices};
use crate::state::{CrpParams, CrpPool, status};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct InitCrpPoolArgs {
    /// Unix time at which loans fall due and claims settle.
    pub expiry: i64,
    pub params: CrpParams,
    /// The only signer allowed to rebalance; the default key lets anyone.
    pub keeper: Pubkey,
    pub oracle_kind: OracleKind,
    pub feed_id: [u8; 32],
    /// Push oracles: the perp pool the oracle account belongs to (ignored for Pyth).
    pub oracle_pool: Pubkey,
}

#[derive(Accounts)]
#[instruction(args: InitCrpPoolArgs)]
pub struct InitCrpPool<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    pub risky_mint: Box<Account<'info, Mint>>,
    pub riskless_mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = authority,
        space = CrpPool::SIZE,
        seeds = [CRP_POOL_SEED, risky_mint.key().as_ref(), riskless_mint.key().as_ref(), &args.expiry.to_le_bytes(), authority.key().as_ref()],
        bump,
    )]
    pub pool: AccountLoader<'info, CrpPool>,
    #[account(
        init,
        payer = authority,
        seeds = [RISKY_VAULT_SEED, pool.key().as_ref()],
        bump,
        token::mint = risky_mint,
        token::authority = pool,
    )]
    pub risky_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = authority,
        seeds = [RISKLESS_VAULT_SEED, pool.key().as_ref()],
        bump,
        token::mint = riskless_mint,
        token::authority = pool,
    )]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = authority,
        seeds = [LENDER_MINT_SEED, pool.key().as_ref()],
        bump,
        mint::decimals = riskless_mint.decimals,
        mint::authority = pool,
    )]
    pub lender_mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = authority,
        seeds = [RESIDUAL_MINT_SEED, pool.key().as_ref()],
        bump,
        mint::decimals = riskless_mint.decimals,
        mint::authority = pool,
    )]
    pub residual_mint: Box<Account<'info, Mint>>,
    /// CHECK: read as the pool's oracle (owner, feed id, age and confidence checked).
    pub oracle: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Parameter ranges a pool must sit in (a pool cannot be changed after creation).
pub fn validate(args: &InitCrpPoolArgs, now: i64) -> Result<()> {
    let p = &args.params;
    let term = args.expiry.saturating_sub(now);
    let ok = (MIN_TERM_SECS..=MAX_TERM_SECS).contains(&term)
        && p.strike_e9 > 0
        && p.sigma_e9 > 0
        && p.sigma_e9 <= 5 * E9
        && p.initial_ltv_bps > 0
        && p.initial_ltv_bps < p.conversion_ltv_bps
        && p.conversion_ltv_bps < BPS
        && p.ema_alpha_e9 > 0
        && p.ema_alpha_e9 <= E9
        && p.min_rebalance_interval_secs >= MIN_REBALANCE_INTERVAL_SECS
        && p.min_rebalance_interval_secs <= term as u64
        && p.fee_bps < 1_000
        && p.reserve_share_bps <= BPS
        && p.max_trade_ratio_bps > 0
        && p.max_trade_ratio_bps <= 5_000
        && p.rate_bps <= 5_000
        && p.conversion_discount_bps > 0
        && p.conversion_discount_bps <= 1_000
        && p.max_age_secs > 0
        && p.max_age_secs <= 3_600
        && p.max_conf_bps > 0
        && p.max_conf_bps <= 1_000;
    require!(ok, CrpError::InvalidParameter);
    Ok(())
}

pub fn handle_init_pool(ctx: Context<InitCrpPool>, args: InitCrpPoolArgs) -> Result<()> {
    let a = &ctx.accounts;
    require_keys_neq!(
        a.risky_mint.key(),
        a.riskless_mint.key(),
        CrpError::WrongMint
    );
    let now = Clock::get()?.unix_timestamp;
    validate(&args, now)?;
    let kind = match args.oracle_kind {
        OracleKind::Push => 0,
        OracleKind::Pyth => 1,
    };
    let shift = a.riskless_mint.decimals as i32 - a.risky_mint.decimals as i32;
    let settings = OracleSettings {
        kind,
        oracle_pool: &args.oracle_pool,
        feed_id: &args.feed_id,
        max_age_secs: args.params.max_age_secs,
        max_conf_bps: args.params.max_conf_bps,
        decimals_shift: shift,
    };
    let prices = read_prices(&a.oracle, &settings, now)?;
    let p = &args.params;
    let strike = scale_pow10(p.strike_e9, shift - 9).map_err(|_| error!(CrpError::MathOverflow))?;
    require!(strike > Fix::ZERO, CrpError::InvalidParameter);
    let sigma = Fix::from_num(p.sigma_e9) / Fix::from_num(E9);
    let secs = (args.expiry - now) as u64;
    // the first weight is the delta itself (α = 1): the pool starts where the model says
    let start =
        rebalance(prices.mid, strike, sigma, years(secs), MIN_WEIGHT, Fix::ONE).map_err(math)?;
    debug_assert!(start.weight >= MIN_WEIGHT && start.weight <= MAX_WEIGHT);

    let mut pool = ctx.accounts.pool.load_init()?;
    pool.version = 1;
    pool.bump = ctx.bumps.pool;
    pool.status = status::ACTIVE;
    pool.oracle_kind = kind;
    pool.risky_decimals = a.risky_mint.decimals;
    pool.riskless_decimals = a.riskless_mint.decimals;
    pool.expiry = args.expiry;
    pool.created_ts = now;
    pool.last_rebalance_ts = now;
    pool.authority = a.authority.key();
    pool.keeper = args.keeper;
    pool.risky_mint = a.risky_mint.key();
    pool.riskless_mint = a.riskless_mint.key();
    pool.risky_vault = a.risky_vault.key();
    pool.riskless_vault = a.riskless_vault.key();
    pool.lender_mint = a.lender_mint.key();
    pool.residual_mint = a.residual_mint.key();
    pool.oracle = a.oracle.key();
    pool.oracle_pool = args.oracle_pool;
    pool.feed_id = args.feed_id;
    pool.params = args.params;
    pool.strike.set_fix(strike);
    pool.risky_weight.set_fix(start.weight);
    pool.target_weight.set_fix(start.weight);
    pool.ramp_end_ts = now;
    pool.last_price.set_fix(prices.mid);
    pool.last_price_ts = prices.publish_time;
    pool.last_delta.set_fix(start.delta);
    Ok(())
}
