use anchor_lang::prelude::*;

use crate::errors::PerpError;
use crate::state::RiskModel;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct StageRiskArgs {
    /// Byte offset into the staging area ([`crate::state::StagedRisk`], little-endian).
    pub offset: u32,
    pub bytes: Vec<u8>,
}

#[derive(Accounts)]
pub struct StageRisk<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::NotRiskAuthority)]
    pub risk_model: AccountLoader<'info, RiskModel>,
}

/// Write a piece of the next σ, R and certificate. Nothing is validated until `commit_risk`.
pub fn handle_stage_risk(ctx: Context<StageRisk>, args: StageRiskArgs) -> Result<()> {
    require!(!args.bytes.is_empty(), PerpError::ZeroAmount);
    let mut model = ctx.accounts.risk_model.load_mut()?;
    let staged = bytemuck::bytes_of_mut(&mut model.staged);
    let start = args.offset as usize;
    let target = start
        .checked_add(args.bytes.len())
        .and_then(|end| staged.get_mut(start..end))
        .ok_or_else(|| error!(PerpError::RiskStageOutOfRange))?;
    target.copy_from_slice(&args.bytes);
    Ok(())
}
