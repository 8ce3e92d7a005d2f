use anchor_lang::prelude::*;

use crate::errors::PerpError;
use crate::events::AdminEvent;
use crate::state::Pool;

#[derive(Accounts)]
pub struct ProposeAuthority<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// Step one: name the next authority (default pubkey cancels a pending transfer).
pub fn handle_propose_authority(
    ctx: Context<ProposeAuthority>,
    new_authority: Pubkey,
) -> Result<()> {
    ctx.accounts.pool.load_mut()?.pending_authority = new_authority;
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 1,
        value: new_authority,
        flags: 0
    });
    Ok(())
}

#[derive(Accounts)]
pub struct AcceptAuthority<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
}

/// Step two: the proposed authority signs to take over.
pub fn handle_accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
    let mut pool = ctx.accounts.pool.load_mut()?;
    let signer = ctx.accounts.new_authority.key();
    require!(
        pool.pending_authority != Pubkey::default(),
        PerpError::NotPendingAuthority
    );
    require_keys_eq!(
        pool.pending_authority,
        signer,
        PerpError::NotPendingAuthority
    );
    pool.authority = signer;
    pool.pending_authority = Pubkey::default();
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 2,
        value: signer,
        flags: 0
    });
    Ok(())
}

#[derive(Accounts)]
pub struct ProposeOracleAuthority<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The pool authority names the next push-oracle authority (step one of two; the default
/// pubkey withdraws a proposal). The current one keeps publishing until the new one accepts,
/// so prices never stop while the key changes hands.
pub fn handle_propose_oracle_authority(
    ctx: Context<ProposeOracleAuthority>,
    oracle_authority: Pubkey,
) -> Result<()> {
    ctx.accounts.pool.load_mut()?.pending_oracle_authority = oracle_authority;
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 5,
        value: oracle_authority,
        flags: 0
    });
    Ok(())
}

#[derive(Accounts)]
pub struct AcceptOracleAuthority<'info> {
    pub oracle_authority: Signer<'info>,
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The proposed oracle authority signs to take over (step two).
pub fn handle_accept_oracle_authority(ctx: Context<AcceptOracleAuthority>) -> Result<()> {
    let mut pool = ctx.accounts.pool.load_mut()?;
    let signer = ctx.accounts.oracle_authority.key();
    require!(
        pool.pending_oracle_authority != Pubkey::default()
            && pool.pending_oracle_authority == signer,
        PerpError::NotPendingAuthority
    );
    pool.oracle_authority = signer;
    pool.pending_oracle_authority = Pubkey::default();
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 6,
        value: signer,
        flags: 0
    });
    Ok(())
}
