use anchor_lang::prelude::*;

use crate::constants::RISK_MODEL_SEED;
use crate::errors::PerpError;
use crate::events::AdminEvent;
use crate::state::{Pool, RiskModel};

#[derive(Accounts)]
pub struct ProposeRiskPublisher<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, seeds = [RISK_MODEL_SEED, pool.key().as_ref()], bump = risk_model.load()?.bump)]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// The pool authority names the next risk publisher (step one of two; the default pubkey
/// withdraws a proposal). The current publisher keeps publishing until the new one accepts.
pub fn handle_propose_risk_publisher(
    ctx: Context<ProposeRiskPublisher>,
    publisher: Pubkey,
) -> Result<()> {
    ctx.accounts.risk_model.load_mut()?.pending_authority = publisher;
    emit!(AdminEvent {
        pool: ctx.accounts.pool.key(),
        kind: 3,
        value: publisher,
        flags: 0
    });
    Ok(())
}

#[derive(Accounts)]
pub struct AcceptRiskPublisher<'info> {
    pub publisher: Signer<'info>,
    #[account(mut)]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// The proposed publisher signs to take over (step two).
pub fn handle_accept_risk_publisher(ctx: Context<AcceptRiskPublisher>) -> Result<()> {
    let mut model = ctx.accounts.risk_model.load_mut()?;
    let signer = ctx.accounts.publisher.key();
    require!(
        model.pending_authority != Pubkey::default() && model.pending_authority == signer,
        PerpError::NotPendingAuthority
    );
    model.authority = signer;
    model.pending_authority = Pubkey::default();
    emit!(AdminEvent {
        pool: model.pool,
        kind: 4,
        value: signer,
        flags: 0
    });
    Ok(())
}
