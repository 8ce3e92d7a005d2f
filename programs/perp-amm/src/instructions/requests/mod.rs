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

use crate::constants::{MAX_REQUESTS_PER_OWNER, REQUEST_SEED};
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
    /// The position account's rent, held for its execution to create it (0 if not needed).
    pub position_rent: u64,
}

/// Create the program account at `target` (a PDA of `seeds`, bump included) with `space` bytes
/// and `lamports`, paid by `payer`. An address someone funded first (anyone can send lamports
/// to a PDA) is adopted: topped up, allocated and assigned. Anchor's `init` turns that case into
/// `CreateAccountAllowPrefund`, which clusters without it refuse, so one lamport sent to a
/// user's request or position address would block him.
pub fn create_pda<'info>(
    payer: &AccountInfo<'info>,
    target: &AccountInfo<'info>,
    system: &Program<'info, System>,
    seeds: &[&[u8]],
    space: usize,
    lamports: u64,
) -> Result<()> {
    let signer: &[&[&[u8]]] = &[seeds];
    let current = target.lamports();
    if current == 0 {
        return system_program::create_account(
            CpiContext::new_with_signer(
                system.key(),
                system_program::CreateAccount {
                    from: payer.clone(),
                    to: target.clone(),
                },
                signer,
            ),
            lamports,
            space as u64,
            &crate::ID,
        );
    }
    if lamports > current {
        system_program::transfer(
            CpiContext::new(
                system.key(),
                system_program::Transfer {
                    from: payer.clone(),
                    to: target.clone(),
                },
            ),
            lamports - current,
        )?;
    }
    system_program::allocate(
        CpiContext::new_with_signer(
            system.key(),
            system_program::Allocate {
                account_to_allocate: target.clone(),
            },
            signer,
        ),
        space as u64,
    )?;
    system_program::assign(
        CpiContext::new_with_signer(
            system.key(),
            system_program::Assign {
                account_to_assign: target.clone(),
            },
            signer,
        ),
        &crate::ID,
    )
}

/// Check that `info` is the PDA of `seeds` (the bump last) at the canonical bump: the
/// address the bump gives, and no higher bump giving one. A lower, non-canonical bump gives
/// another valid address, which would make a second position for the same market and owner, or
/// a second request in one slot. Costs what `find_program_address` costs: one try per bump from
/// 255 down to the canonical one.
pub fn check_canonical_pda(info: &AccountInfo, seeds: &[&[u8]]) -> Result<()> {
    let (bump_seed, base) = seeds
        .split_last()
        .ok_or_else(|| error!(anchor_lang::error::ErrorCode::ConstraintSeeds))?;
    let bump = *bump_seed
        .first()
        .ok_or_else(|| error!(anchor_lang::error::ErrorCode::ConstraintSeeds))?;
    let address = Pubkey::create_program_address(seeds, &crate::ID)
        .map_err(|_| error!(anchor_lang::error::ErrorCode::ConstraintSeeds))?;
    require_keys_eq!(
        address,
        info.key(),
        anchor_lang::error::ErrorCode::ConstraintSeeds
    );
    for higher in bump.saturating_add(1)..=u8::MAX {
        if higher == bump {
            break;
        }
        let b = [higher];
        let mut with_bump: Vec<&[u8]> = base.to_vec();
        with_bump.push(&b);
        let valid = Pubkey::create_program_address(&with_bump, &crate::ID).is_ok();
        require!(!valid, anchor_lang::error::ErrorCode::ConstraintSeeds);
    }
    Ok(())
}

/// Whether `info` is still an unused address (no program owns it yet).
pub fn unused(info: &AccountInfo) -> bool {
    info.owner == &anchor_lang::solana_program::system_program::ID && info.data_is_empty()
}

/// Create the request account of `new` at `info` (checked against its seeds and bump), holding
/// its rent and the keeper fee, and write it. The slot must be free.
pub fn open_request<'info>(
    info: &AccountInfo<'info>,
    owner: &Signer<'info>,
    system: &Program<'info, System>,
    pool: &Pool,
    new: NewRequest,
    now: i64,
) -> Result<Request> {
    require!(
        new.slot < MAX_REQUESTS_PER_OWNER,
        PerpError::RequestSlotOutOfRange
    );
    require!(
        new.keeper_fee >= pool.min_keeper_fee_lamports,
        PerpError::KeeperFeeTooLow
    );
    let slot = [new.slot];
    let bump = [new.bump];
    let seeds: [&[u8]; 5] = [
        REQUEST_SEED,
        new.pool.as_ref(),
        new.owner.as_ref(),
        &slot,
        &bump,
    ];
    // the address the client's bump gives (one try); unlike a position's, a request at a lower,
    // non-canonical bump is harmless: it is the owner's own rent, nothing looks it up by
    // address alone, and keepers find every request by its discriminator
    let address = Pubkey::create_program_address(&seeds, &crate::ID)
        .map_err(|_| error!(anchor_lang::error::ErrorCode::ConstraintSeeds))?;
    require_keys_eq!(
        address,
        info.key(),
        anchor_lang::error::ErrorCode::ConstraintSeeds
    );
    require!(unused(info), PerpError::RequestSlotInUse);
    let space = 8 + Request::INIT_SPACE;
    let rent = Rent::get()?.minimum_balance(space);
    let lamports = rent
        .checked_add(new.keeper_fee)
        .and_then(|l| l.checked_add(new.position_rent))
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    create_pda(
        &owner.to_account_info(),
        info,
        system,
        &seeds,
        space,
        lamports,
    )?;
    Ok(Request {
        pool: new.pool,
        owner: new.owner,
        market: new.market,
        pay_to: new.pay_to,
        refund_to: new.refund_to,
        kind: new.kind,
        slot: new.slot,
        bump: new.bump,
        size: 0,
        collateral: 0,
        acceptable: 0,
        trigger_price_e9: 0,
        position_opened_at: 0,
        created_ts: now,
        executable_ts: now,
        expires_ts: now,
        keeper_fee: new.keeper_fee,
        position_rent: new.position_rent,
        position_bump: 0,
        reserved: [0; 23],
    })
}

/// Write a request into its account (discriminator and Borsh fields).
pub fn write_request(info: &AccountInfo, request: &Request) -> Result<()> {
    let mut data = info.try_borrow_mut_data()?;
    let mut out: &mut [u8] = &mut data;
    request.try_serialize(&mut out)
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

/// The owner's position for a trade request, from `info`: loaded and checked (the owner's, in
/// the request's market) when it exists; when it does not, created for an increase with the
/// rent the request holds, at the canonical address only (a lower bump would make a second
/// position for the same market and owner, which keepers, looking at the canonical one, never
/// liquidate). Without an account and for any other kind: `NoPosition`.
pub fn position_for<'info>(
    info: &'info AccountInfo<'info>,
    request_info: &AccountInfo<'info>,
    request: &Request,
    system: &Program<'info, System>,
) -> Result<Account<'info, Position>> {
    if !unused(info) {
        let position: Account<Position> = Account::try_from(info)?;
        check_position(&position, request)?;
        return Ok(position);
    }
    create_position(info, request_info, request, system)
}

/// Whether `request` holds its position open (counted in `pending_requests`): one placed on an
/// existing position did; one placed without a position (it holds the rent instead) did not,
/// unless its own execution created the position.
pub fn holds_position(request: &Request) -> bool {
    request.position_rent == 0 && !request.kind.is_lp()
}

fn create_position<'info>(
    info: &'info AccountInfo<'info>,
    request_info: &AccountInfo<'info>,
    request: &Request,
    system: &Program<'info, System>,
) -> Result<Account<'info, Position>> {
    require!(
        request.kind.increases() && request.position_rent > 0,
        PerpError::NoPosition
    );
    let bump = [request.position_bump];
    let seeds: [&[u8]; 4] = [
        crate::constants::POSITION_SEED,
        request.market.as_ref(),
        request.owner.as_ref(),
        &bump,
    ];
    check_canonical_pda(info, &seeds)?;
    // the address allocates and takes this program as owner, signed by its seeds; then the
    // request's lamports pay its rent, moved directly (the program owns both by then: moved
    // before the calls, they would unbalance the calls' accounts)
    let signer: &[&[&[u8]]] = &[&seeds];
    system_program::allocate(
        CpiContext::new_with_signer(
            system.key(),
            system_program::Allocate {
                account_to_allocate: info.clone(),
            },
            signer,
        ),
        (8 + Position::INIT_SPACE) as u64,
    )?;
    system_program::assign(
        CpiContext::new_with_signer(
            system.key(),
            system_program::Assign {
                account_to_assign: info.clone(),
            },
            signer,
        ),
        &crate::ID,
    )?;
    **request_info.try_borrow_mut_lamports()? -= request.position_rent;
    **info.try_borrow_mut_lamports()? += request.position_rent;
    let fresh = Position {
        pool: request.pool,
        market: request.market,
        owner: request.owner,
        size: 0,
        entry_notional: 0,
        collateral: 0,
        funding_snapshot: Default::default(),
        opened_at: 0,
        bump: request.position_bump,
        // this request's, released when it is done
        pending_requests: 1,
        premium_paid: 0,
        reserved: [0; 23],
    };
    {
        let mut data = info.try_borrow_mut_data()?;
        let mut out: &mut [u8] = &mut data;
        fresh.try_serialize(&mut out)?;
    }
    Account::try_from(info)
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
    let code_of = |e: PerpError| anchor_lang::error::ERROR_CODE_OFFSET + e as u32;
    match kind {
        RequestKind::LimitIncrease | RequestKind::TakeProfit | RequestKind::StopLoss => {
            code == code_of(PerpError::SlippageExceeded)
        }
        // a withdrawal whose payout account is gone ends too (see `execute_lp_request`)
        RequestKind::Withdraw => {
            code == code_of(PerpError::SlippageExceeded)
                || code == code_of(PerpError::WrongPayoutAccount)
        }
        _ => true,
    }
}

/// The acceptable-price bound of a fill: the owner's, with 0 and u64::MAX both meaning none in
/// either direction (a ceiling for a buy, a floor for a sell).
pub fn acceptable_limit(acceptable_e9: u64, buy: bool) -> u64 {
    match (acceptable_e9, buy) {
        (0, true) => u64::MAX,
        (u64::MAX, false) => 0,
        (v, _) => v,
    }
}

pub fn emit_request(
    key: Pubkey,
    request: &Request,
    outcome: u8,
    reason: u32,
    by: Pubkey,
    price_publish_time: i64,
) {
    emit!(RequestEvent {
        pool: request.pool,
        request: key,
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
