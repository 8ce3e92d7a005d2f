use anchor_lang::prelude::*;

use crate::constants::PUSH_ORACLE_SEED;
use crate::errors::PerpError;
use crate::state::{Pool, PushOracle};

#[derive(Accounts)]
#[instruction(feed_id: [u8; 32])]
pub struct InitPushOracle<'info> {
    #[account(mut)]
    pub oracle_authority: Signer<'info>,
    pub pool: AccountLoader<'info, Pool>,
    #[account(
        init,
        payer = oracle_authority,
        space = 8 + PushOracle::INIT_SPACE,
        seeds = [PUSH_ORACLE_SEED, pool.key().as_ref(), &feed_id],
        bump,
    )]
    pub oracle: Account<'info, PushOracle>,
    pub system_program: Program<'info, System>,
}

pub fn handle_init_push_oracle(
    ctx: Context<InitPushOracle>,
    feed_id: [u8; 32],
    expo: i32,
) -> Result<()> {
    let pool = ctx.accounts.pool.load()?;
    require_keys_eq!(
        pool.oracle_authority,
        ctx.accounts.oracle_authority.key(),
        PerpError::NotOracleAuthority
    );
    require!((-18..=0).contains(&expo), PerpError::InvalidParameter);
    let oracle = &mut ctx.accounts.oracle;
    oracle.pool = ctx.accounts.pool.key();
    oracle.feed_id = feed_id;
    oracle.expo = expo;
    oracle.bump = ctx.bumps.oracle;
    Ok(())
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct PushPriceArgs {
    pub price: i64,
    pub conf: u64,
    pub publish_time: i64,
}

#[derive(Accounts)]
pub struct UpdatePushOracle<'info> {
    pub oracle_authority: Signer<'info>,
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongPool)]
    pub oracle: Account<'info, PushOracle>,
}

pub fn handle_update_push_oracle(
    ctx: Context<UpdatePushOracle>,
    args: PushPriceArgs,
) -> Result<()> {
    let pool = ctx.accounts.pool.load()?;
    require_keys_eq!(
        pool.oracle_authority,
        ctx.accounts.oracle_authority.key(),
        PerpError::NotOracleAuthority
    );
    require!(args.price > 0, PerpError::InvalidOraclePrice);
    // a price stamped ahead of the cluster never goes stale, and freezes the oracle (timestamps
    // never go back)
    require!(
        args.publish_time <= Clock::get()?.unix_timestamp,
        PerpError::OracleInFuture
    );
    let oracle = &mut ctx.accounts.oracle;
    require!(
        args.publish_time >= oracle.publish_time,
        PerpError::OracleNotMonotonic
    );
    oracle.price = args.price;
    oracle.conf = args.conf;
    oracle.publish_time = args.publish_time;
    Ok(())
}
