use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use crate::engine::{check_increase, check_open};
use crate::errors::PerpError;
use crate::instructions::requests::{NewRequest, open_request, unused, write_request};
use crate::instructions::shared::transfer_in;
use crate::state::{Market, Pool, Position, RequestKind, max_trigger_expiry, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct PlaceOrderArgs {
    /// The owner's request slot, < 16 (part of the request's address).
    pub slot: u8,
    /// Any trade kind (not `Deposit` / `Withdraw`).
    pub kind: RequestKind,
    /// Increases: base native units, > 0 long, < 0 short. Reductions: a positive amount, or 0
    /// (or the whole size or more) to close.
    pub size: i64,
    /// Increases: margin posted (escrowed now). `RemoveCollateral`: margin to take out.
    pub collateral: u64,
    /// Worst acceptable average price, quote per base ×1e9: a ceiling when buying, a floor when
    /// selling; 0 or u64::MAX for none.
    pub acceptable_price_e9: u64,
    /// Trigger kinds: the trigger, quote per base ×1e9 (0 otherwise).
    pub trigger_price_e9: u64,
    /// Trigger kinds: when the order lapses (at most 90 days ahead). Market kinds: 0 (they
    /// expire after the pool's execution window).
    pub expires_ts: i64,
    /// Lamports for the keeper that executes it (at least the pool's minimum).
    pub keeper_fee: u64,
    /// The bumps of the request and position addresses (the client computes them, so the
    /// program checks one address each instead of searching).
    pub request_bump: u8,
    pub position_bump: u8,
}

#[derive(Accounts)]
pub struct PlaceOrder<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    /// CHECK: a market of this pool in its slot (`market_slot` reads its pool and index in
    /// place: placing needs no more of it, and decoding the whole account costs CU).
    pub market: UncheckedAccount<'info>,
    /// CHECK: the owner's position: an existing one is checked by its fields (the owner's, in
    /// this market); a missing one is created by the execution (`position_for`), at the
    /// canonical address `args.position_bump` must give.
    #[account(mut)]
    pub position: UncheckedAccount<'info>,
    /// CHECK: the request PDA [REQUEST_SEED, pool, owner, slot] (checked with
    /// `args.request_bump`), created here.
    #[account(mut)]
    pub request: UncheckedAccount<'info>,
    /// CHECK: the pool's vault (`has_one`); the token program checks the transfer.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// Pays the escrow and receives payouts and refunds.
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Place a trade request: check it against the position as it stands, escrow an increase's
/// collateral, and leave it for a keeper to execute at a later price.
pub fn handle_place_order<'info>(
    ctx: Context<'info, PlaceOrder<'info>>,
    args: PlaceOrderArgs,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a: &'info PlaceOrder<'info> = ctx.accounts;
    require!(!args.kind.is_lp(), PerpError::WrongRequestKind);
    let (pool_key, market_key, owner_key) = (a.pool.key(), a.market.key(), a.owner.key());
    let window = {
        let pool = a.pool.load()?;
        market_slot(&pool, &pool_key, &a.market)?;
        if args.kind.increases() {
            pool.require_not_paused(pause::OPEN)?;
        }
        pool.order_window_secs as i64
    };

    // the position as it stands: loaded (and held open by this request) if it exists; if not,
    // the execution creates it, with rent this request holds
    let position_info: &'info AccountInfo<'info> = a.position.as_ref();
    let mut position: Option<Account<Position>> = None;
    let (size, collateral, opened_at) = if unused(position_info) {
        // the address the client's bump gives must be this one (one try): a decoy address would
        // leave an order that no execution can take; that the bump is the canonical one is
        // checked when the execution creates the position
        let bump = [args.position_bump];
        let seeds: [&[u8]; 4] = [
            POSITION_SEED,
            market_key.as_ref(),
            owner_key.as_ref(),
            &bump,
        ];
        let address = Pubkey::create_program_address(&seeds, &crate::ID)
            .map_err(|_| error!(anchor_lang::error::ErrorCode::ConstraintSeeds))?;
        require_keys_eq!(
            address,
            position_info.key(),
            anchor_lang::error::ErrorCode::ConstraintSeeds
        );
        (0, 0, 0)
    } else {
        let p: Account<Position> = Account::try_from(position_info)?;
        require!(
            p.pool == pool_key && p.market == market_key && p.owner == owner_key,
            PerpError::WrongPosition
        );
        let now_held = (p.size, p.collateral, p.opened_at);
        position = Some(p);
        now_held
    };
    check_order_args(&args, size, collateral, now)?;
    let position_rent = if position.is_none() {
        Rent::get()?.minimum_balance(8 + Position::INIT_SPACE)
    } else {
        0
    };
    if let Some(p) = position.as_mut() {
        p.pending_requests = p
            .pending_requests
            .checked_add(1)
            .ok_or_else(|| error!(PerpError::MathOverflow))?;
        p.exit(&crate::ID)?;
    }

    let request_info = a.request.to_account_info();
    let mut request = {
        let pool = a.pool.load()?;
        open_request(
            &request_info,
            &a.owner,
            &a.system_program,
            &pool,
            NewRequest {
                pool: pool_key,
                owner: owner_key,
                market: market_key,
                pay_to: a.owner_quote.key(),
                refund_to: a.owner_quote.key(),
                kind: args.kind,
                slot: args.slot,
                bump: args.request_bump,
                keeper_fee: args.keeper_fee,
                position_rent,
            },
            now,
        )?
    };
    request.size = args.size;
    request.collateral = args.collateral;
    request.acceptable = args.acceptable_price_e9;
    request.trigger_price_e9 = args.trigger_price_e9;
    request.position_bump = args.position_bump;
    // an empty position (new, or kept open by other requests) is no position to tie to
    request.position_opened_at = if size != 0 { opened_at } else { 0 };
    request.expires_ts = if args.kind.is_trigger() {
        args.expires_ts
    } else {
        now + window
    };
    write_request(&request_info, &request)?;

    let escrow = request.escrowed_quote();
    if escrow > 0 {
        transfer_in(
            &a.token_program,
            a.owner_quote.to_account_info(),
            a.vault.to_account_info(),
            a.owner.to_account_info(),
            escrow,
        )?;
        let mut pool = a.pool.load_mut()?;
        pool.request_escrow = pool
            .request_escrow
            .checked_add(escrow)
            .ok_or_else(|| error!(PerpError::MathOverflow))?;
    }
    Ok(())
}

/// The market account's slot in `pool`: a `Market` of this program (owner and discriminator),
/// of this pool, occupying the slot its index names, and active. Reads the pool key and index
/// where Anchor lays them out (after the discriminator: pool, then index).
fn market_slot(pool: &Pool, pool_key: &Pubkey, info: &AccountInfo) -> Result<u8> {
    require_keys_eq!(
        *info.owner,
        crate::ID,
        anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram
    );
    let data = info.try_borrow_data()?;
    require!(
        data.len() >= 8 + 33 && data[..8] == *Market::DISCRIMINATOR,
        anchor_lang::error::ErrorCode::AccountDiscriminatorMismatch
    );
    require!(data[8..40] == pool_key.to_bytes(), PerpError::WrongPool);
    let index = data[40];
    let slot = pool.slot(index)?;
    require_keys_eq!(slot.market, info.key(), PerpError::WrongMarket);
    require!(slot.active == 1, PerpError::MarketInactive);
    Ok(index)
}

/// What each kind needs, checked against the position as it stands now (execution checks
/// again: the position may change in between).
fn check_order_args(args: &PlaceOrderArgs, size: i64, collateral: u64, now: i64) -> Result<()> {
    use RequestKind::*;
    let trigger_ok = if args.kind.is_trigger() {
        args.trigger_price_e9 > 0
            && args.trigger_price_e9 < u64::MAX
            && args.expires_ts > now
            && args.expires_ts <= max_trigger_expiry(now)
    } else {
        args.trigger_price_e9 == 0 && args.expires_ts == 0
    };
    require!(trigger_ok, PerpError::InvalidRequest);
    match args.kind {
        MarketIncrease | LimitIncrease => {
            if size == 0 {
                check_open(args.size, args.collateral)?;
            } else {
                check_increase(size, args.size)?;
            }
        }
        MarketReduce | TakeProfit | StopLoss => {
            require!(size != 0, PerpError::NoPosition);
            require!(
                args.size >= 0 && args.collateral == 0,
                PerpError::InvalidRequest
            );
        }
        RemoveCollateral => {
            // on an empty position: claim a payout parked there (see `execute_order`)
            require!(size != 0 || collateral > 0, PerpError::NoPosition);
            require!(args.collateral > 0, PerpError::ZeroAmount);
            require!(args.size == 0, PerpError::InvalidRequest);
        }
        Deposit | Withdraw => return err!(PerpError::WrongRequestKind),
    }
    Ok(())
}
