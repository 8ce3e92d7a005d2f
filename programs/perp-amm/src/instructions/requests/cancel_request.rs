use anchor_lang::prelude::*;
use anchor_spl::token::Token;

use crate::constants::POSITION_SEED;
use crate::errors::PerpError;
use crate::instructions::requests::{
    check_position, close_request, emit_request, holds_position, outcome, position_gone,
    release_position, return_outcome, unused, usable_token_account,
};
use crate::instructions::shared::{PoolSeeds, transfer_out};
use crate::state::{Pool, Position, Request, RequestKind};

#[derive(Accounts)]
pub struct CancelRequest<'info> {
    /// The owner (any time), or anyone once the request has expired or its position is gone.
    pub signer: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongPool, has_one = owner @ PerpError::NotRequestOwner)]
    pub request: Box<Account<'info, Request>>,
    /// CHECK: the request's owner (checked by `has_one`): gets everything back.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// CHECK: the position a trade request names (absent for LP requests): checked by its
    /// fields when it exists, as its canonical address when it does not (an open placed without
    /// one), so no caller can skip releasing an existing position by naming another address.
    #[account(mut)]
    pub position: Option<UncheckedAccount<'info>>,
    /// CHECK: the pool's vault (`has_one`).
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: the pool's LP escrow (its address is the pool's).
    #[account(mut, address = pool.load()?.lp_escrow @ PerpError::WrongVault)]
    pub lp_escrow: UncheckedAccount<'info>,
    /// CHECK: the request's `refund_to`; its owner cancelling may name another account of his
    /// for the refund (checked below). A keeper clearing a trade request whose `refund_to` can
    /// no longer receive parks the refund in the position.
    #[account(mut)]
    pub refund_to: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Cancel a request (its owner: a trigger order or a withdrawal any time, a market request or a
/// deposit once expired, so that no one can place one and withdraw it when the price moves
/// against him) or
/// clear it (anyone, once it has expired or the position it names is gone): its escrow, rent and
/// keeper fee all return to the owner.
pub fn handle_cancel_request<'info>(ctx: Context<'info, CancelRequest<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a: &'info mut CancelRequest<'info> = ctx.accounts;
    let position_info: Option<&'info AccountInfo<'info>> = a.position.as_ref().map(|p| p.as_ref());
    let request = &a.request;
    let mut position: Option<Account<'info, Position>> = None;
    match position_info {
        None => require!(request.kind.is_lp(), PerpError::WrongPosition),
        Some(_) if request.kind.is_lp() => return err!(PerpError::WrongPosition),
        Some(info) if unused(info) => {
            // found, not taken from the request: a request placed with a wrong bump must still
            // be clearable
            let (canonical, _) = Pubkey::find_program_address(
                &[
                    POSITION_SEED,
                    request.market.as_ref(),
                    request.owner.as_ref(),
                ],
                &crate::ID,
            );
            require_keys_eq!(
                info.key(),
                canonical,
                anchor_lang::error::ErrorCode::ConstraintSeeds
            );
        }
        Some(info) => {
            let p: Account<Position> = Account::try_from(info)?;
            check_position(&p, request)?;
            position = Some(p);
        }
    }
    let expired = now > request.expires_ts;
    // a request acting on a position that no longer exists has lost it
    let gone = match &position {
        Some(p) => position_gone(p, request),
        None => request.kind.acts_on_position() || request.position_opened_at != 0,
    } && !request.kind.is_lp();
    let by_owner = a.signer.key() == request.owner;
    if by_owner {
        let market_order = !request.kind.is_trigger() && request.kind != RequestKind::Withdraw;
        require!(!market_order || expired || gone, PerpError::CancelTooEarly);
    } else {
        require!(expired || gone, PerpError::RequestNotExpired);
    }
    let (seeds, quote_mint, lp_mint) = {
        let pool = a.pool.load()?;
        (PoolSeeds::of(&pool), pool.quote_mint, pool.lp_mint)
    };
    let refund_mint = if request.kind == RequestKind::Withdraw {
        lp_mint
    } else {
        quote_mint
    };
    if !by_owner || a.refund_to.key() != request.refund_to {
        require!(
            by_owner || a.refund_to.key() == request.refund_to,
            PerpError::WrongPayoutAccount
        );
    }
    let payable = usable_token_account(&a.refund_to, &refund_mint, &request.owner);
    // the owner must name an account that can take the refund; a keeper's clear parks a trade
    // request's refund in its position when the account cannot
    require!(
        payable || (!by_owner && position.is_some()),
        PerpError::WrongPayoutAccount
    );
    let quote = request.escrowed_quote();
    if quote > 0 {
        if payable {
            transfer_out(
                &a.token_program,
                a.vault.to_account_info(),
                a.refund_to.to_account_info(),
                a.pool.to_account_info(),
                &seeds.seeds(),
                quote,
            )?;
            a.pool.load_mut()?.request_escrow -= quote;
        } else if let Some(position) = position.as_mut() {
            let mut pool = a.pool.load_mut()?;
            pool.request_escrow -= quote;
            pool.total_collateral += quote;
            let before = (position.size, position.collateral);
            position.collateral += quote;
            if let Some(index) = pool
                .markets
                .iter()
                .position(|m| m.market == position.market)
            {
                crate::engine::sync_side_collateral(&mut pool, index as u8, before, position)?;
            }
        }
    }
    transfer_out(
        &a.token_program,
        a.lp_escrow.to_account_info(),
        a.refund_to.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        request.escrowed_shares(),
    )?;
    let done = if by_owner {
        outcome::CANCELLED
    } else {
        outcome::CLEARED
    };
    emit_request(request.key(), request, done, 0, a.signer.key(), 0);
    return_outcome(done, 0);
    let owner = a.owner.to_account_info();
    if let Some(mut position) = position {
        if holds_position(&a.request) {
            release_position(&mut position, &owner)?;
        }
        position.exit(&crate::ID)?;
    }
    close_request(&a.request, &owner, None)
}
