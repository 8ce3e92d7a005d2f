use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use keel_math::Prob;

use crate::constants::{BPS, E9, LP_ESCROW_SEED, LP_MINT_SEED, POOL_SEED, VAULT_SEED};
use crate::errors::PerpError;
use crate::state::{Pool, RequestParams};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct InitPoolArgs {
    /// Distinguishes several pools on one quote mint.
    pub pool_id: u64,
    /// Share of trading fees to LP capital (bps); the rest feeds the default fund.
    pub lp_fee_share_bps: u64,
    /// Default probability q* that withdrawals must keep every market at or below (1e9 scale).
    pub target_default_prob_e9: u64,
    /// Smallest LP deposit (quote native).
    pub min_deposit: u64,
    /// Signer of push-oracle updates.
    pub oracle_authority: Pubkey,
    /// Execution window, withdrawal delay and keeper fee of requests.
    pub requests: RequestParams,
}

#[derive(Accounts)]
#[instruction(args: InitPoolArgs)]
pub struct InitPool<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    pub quote_mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = authority,
        space = Pool::SIZE,
        seeds = [POOL_SEED, quote_mint.key().as_ref(), &args.pool_id.to_le_bytes()],
        bump,
    )]
    pub pool: AccountLoader<'info, Pool>,
    #[account(
        init,
        payer = authority,
        seeds = [VAULT_SEED, pool.key().as_ref()],
        bump,
        token::mint = quote_mint,
        token::authority = pool,
    )]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = authority,
        seeds = [LP_MINT_SEED, pool.key().as_ref()],
        bump,
        mint::decimals = quote_mint.decimals,
        mint::authority = pool,
    )]
    pub lp_mint: Box<Account<'info, Mint>>,
    /// Holds the LP shares of pending withdrawal requests.
    #[account(
        init,
        payer = authority,
        seeds = [LP_ESCROW_SEED, pool.key().as_ref()],
        bump,
        token::mint = lp_mint,
        token::authority = pool,
    )]
    pub lp_escrow: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl InitPool<'_> {
    fn validate(args: &InitPoolArgs) -> Result<()> {
        require!(args.lp_fee_share_bps <= BPS, PerpError::InvalidParameter);
        // q* must leave a negative distance to default: 0 < q* < 1/2
        require!(
            args.target_default_prob_e9 > 0 && args.target_default_prob_e9 < E9 / 2,
            PerpError::InvalidParameter
        );
        require!(
            args.min_deposit > crate::constants::DEAD_SHARES,
            PerpError::InvalidParameter
        );
        args.requests.validate()
    }
}

pub fn handle_init_pool(ctx: Context<InitPool>, args: InitPoolArgs) -> Result<()> {
    InitPool::validate(&args)?;
    let q_star = keel_math::wide::mul_div_u128(
        args.target_default_prob_e9 as u128,
        1 << 127,
        E9 as u128,
        keel_math::Rounding::Nearest,
    )
    .map_err(|_| error!(PerpError::MathOverflow))?;
    let dd =
        keel_math::norm_inv(Prob::from_bits(q_star)).map_err(|e| error!(PerpError::from(e)))?;

    let mut pool = ctx.accounts.pool.load_init()?;
    pool.version = 1;
    pool.bump = ctx.bumps.pool;
    pool.vault_bump = ctx.bumps.vault;
    pool.lp_mint_bump = ctx.bumps.lp_mint;
    pool.lp_escrow_bump = ctx.bumps.lp_escrow;
    pool.lp_escrow = ctx.accounts.lp_escrow.key();
    pool.quote_decimals = ctx.accounts.quote_mint.decimals;
    pool.pool_id = args.pool_id;
    pool.authority = ctx.accounts.authority.key();
    pool.oracle_authority = args.oracle_authority;
    pool.quote_mint = ctx.accounts.quote_mint.key();
    pool.vault = ctx.accounts.vault.key();
    pool.lp_mint = ctx.accounts.lp_mint.key();
    pool.lp_fee_share_bps = args.lp_fee_share_bps;
    pool.target_default_prob_e9 = args.target_default_prob_e9;
    pool.distance_to_default.set_fix(dd);
    pool.min_deposit = args.min_deposit;
    pool.max_trader_profit_bps = crate::constants::DEFAULT_PROFIT_CEILING_BPS;
    pool.set_request_params(&args.requests)
}
