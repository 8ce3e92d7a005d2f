//! Requests: traders and LPs place them, keepers execute them at a price published after the
//! request, owners cancel them, anyone clears them once expired (see `state::request`).

pub mod cancel_request;
pub mod execute_lp_request;
pub mod execute_order;
pub mod place_lp_request;
pub mod place_order;

pub use cancel_request::*;
pub use execute_lp_request::*;
pub use execute_order::*;
pub use place_lp_request::*;
pub use place_order::*;

use anchor_lang::prelude::*;
use anchor_lang::system_program;

use crate::constants::MAX_REQUESTS_PER_OWNER;
use crate::errors::PerpError;
use crate::events::RequestEvent;
use crate::state::{Pool, Position, Request, RequestKind};

/// What a request starts as, common to trades and LP requests.
pub struct NewRequest {
    pub pool: Pubkey,
    pub owner: Pubkey,
    pub market: Pubkey,
    pub pay_to: Pubkey,
    pub refund_to: Pubkey,
    pub kind: RequestKind,
    pub slot: u8,
    pub bump: u8,
    pub keeper_fee: u64,
}

/// Fill in a new request's common fields, check its slot and fee, and move the keeper fee into
/// it from the owner.
pub fn open_request<'info>(
    request: &mut Account<'info, Request>,
    owner: &Signer<'info>,
    system: &Program<'info, System>,
    pool: &Pool,
    new: NewRequest,
    now: i64,
) -> Result<()> {
    require!(
        new.slot < MAX_REQUESTS_PER_OWNER,
        PerpError::RequestSlotOutOfRange
    );
    require!(
        new.keeper_fee >= pool.min_keeper_fee_lamports,
        PerpError::KeeperFeeTooLow
    );
    if new.keeper_fee > 0 {
        system_program::transfer(
            CpiContext::new(
                system.key(),
                system_program::Transfer {
                    from: owner.to_account_info(),
                    to: request.to_account_info(),
                },
            ),
            new.keeper_fee,
        )?;
    }
    request.pool = new.pool;
    request.owner = new.owner;
    request.market = new.market;
    request.pay_to = new.pay_to;
    request.refund_to = new.refund_to;
    request.kind = new.kind;
    request.slot = new.slot;
    request.bump = new.bump;
    request.keeper_fee = new.keeper_fee;
    request.created_ts = now;
    request.executable_ts = now;
    Ok(())
}

/// Close a request: `keeper` (when it executed the request) gets the fee, the owner the rest
/// of the account's lamports (its rent, and the fee when nobody earned it).
pub fn close_request<'info>(
    request: &Account<'info, Request>,
    owner: &AccountInfo<'info>,
    keeper: Option<&AccountInfo<'info>>,
) -> Result<()> {
    let info = request.to_account_info();
    if let Some(keeper) = keeper {
        let fee = request.keeper_fee.min(info.lamports());
        **info.try_borrow_mut_lamports()? -= fee;
        **keeper.try_borrow_mut_lamports()? += fee;
    }
    anchor_lang::AccountsClose::close(request, owner.clone())
}

/// A request that named `position` is done with it: the count drops, and an empty position
/// nobody names any more is closed to its owner.
pub fn release_position<'info>(
    position: &mut Account<'info, Position>,
    owner: &AccountInfo<'info>,
) -> Result<()> {
    position.pending_requests = position.pending_requests.saturating_sub(1);
    if position.pending_requests == 0 && position.size == 0 && position.collateral == 0 {
        anchor_lang::AccountsClose::close(position, owner.clone())?;
    }
    Ok(())
}

/// The position a trade request names must be the owner's in the request's market.
pub fn check_position(position: &Position, request: &Request) -> Result<()> {
    require!(
        position.owner == request.owner
            && position.market == request.market
            && position.pool == request.pool,
        PerpError::WrongPosition
    );
    Ok(())
}

/// Whether a request that names a position has lost it: a reduction, margin removal, TP or SL
/// whose position was closed, liquidated or reopened, or an increase placed on a position that
/// was since closed (it would open another one the owner did not ask for).
pub fn position_gone(position: &Position, request: &Request) -> bool {
    if request.kind.acts_on_position() {
        let claim =
            request.kind == RequestKind::RemoveCollateral && request.position_opened_at == 0;
        return !claim && (position.size == 0 || position.opened_at != request.position_opened_at);
    }
    request.kind.increases()
        && request.position_opened_at != 0
        && position.opened_at != request.position_opened_at
}

/// Whether `info` can receive tokens of `mint` for `owner` now: an initialized, unfrozen SPL
/// token account. Payouts to an account that is not (closed, frozen, replaced) are parked
/// rather than failing, so no owner can veto the execution of his own request.
pub fn usable_token_account(info: &AccountInfo, mint: &Pubkey, owner: &Pubkey) -> bool {
    use anchor_lang::solana_program::program_pack::Pack;
    use anchor_spl::token::spl_token::state::{Account as SplAccount, AccountState};
    if info.owner != &anchor_spl::token::ID {
        return false;
    }
    let Ok(data) = info.try_borrow_data() else {
        return false;
    };
    match SplAccount::unpack(&data) {
        Ok(a) => a.state == AccountState::Initialized && a.mint == *mint && a.owner == *owner,
        Err(_) => false,
    }
}

/// Tell the caller what happened: return data [outcome, reason (u32 LE)], which keepers and
/// clients read from the transaction (the runtime logs it as `Program return:`).
pub fn return_outcome(outcome: u8, reason: u32) {
    let mut data = [0u8; 5];
    data[0] = outcome;
    data[1..].copy_from_slice(&reason.to_le_bytes());
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::program::set_return_data(&data);
    // run natively (program-test), the syscall goes through the runtime's stubs
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_set_return_data(&data);
}

/// Whether an engine error on executing `kind` ends the request (refused, escrow refunded): any
/// error for a market request (it would expire in seconds anyway), only the owner's own bound
/// (slippage) for trigger orders and withdrawals, which otherwise stay pending until the state
/// lets them through or they expire.
pub fn ends_request(kind: RequestKind, code: u32) -> bool {
    let slippage = anchor_lang::error::ERROR_CODE_OFFSET + PerpError::SlippageExceeded as u32;
    match kind {
        RequestKind::LimitIncrease
        | RequestKind::TakeProfit
        | RequestKind::StopLoss
        | RequestKind::Withdraw => code == slippage,
        _ => true,
    }
}

/// The acceptable-price bound of a fill: the owner's, with 0 meaning none in either direction.
pub fn acceptable_limit(acceptable_e9: u64, buy: bool) -> u64 {
    match (acceptable_e9, buy) {
        (0, true) => u64::MAX,
        (v, _) => v,
    }
}

pub fn emit_request(
    request: &Account<Request>,
    outcome: u8,
    reason: u32,
    by: Pubkey,
    price_publish_time: i64,
) {
    emit!(RequestEvent {
        pool: request.pool,
        request: request.key(),
        owner: request.owner,
        market: request.market,
        kind: request.kind as u8,
        outcome,
        reason,
        by,
        price_publish_time,
        keeper_fee: request.keeper_fee,
    });
}

pub use crate::events::request_outcome as outcome;

/// The program error code of a refused fill, for its event.
pub fn error_code(e: &Error) -> u32 {
    match e {
        Error::AnchorError(a) => a.error_code_number,
        Error::ProgramError(p) => u64::from(p.program_error.clone()) as u32,
    }
}
