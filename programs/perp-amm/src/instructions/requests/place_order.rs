use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::{POSITION_SEED, REQUEST_SEED};
use crate::engine::{check_increase, check_open};
use crate::errors::PerpError;
use crate::instructions::requests::{NewRequest, emit_request, open_request, outcome};
use crate::instructions::shared::{check_slot, transfer_in};
use crate::state::{Market, Pool, Position, Request, RequestKind, max_trigger_expiry, pause};

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
}

#[derive(Accounts)]
#[instruction(args: PlaceOrderArgs)]
pub struct PlaceOrder<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    /// Created empty for a first order in the market; it holds the position once filled.
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + Position::INIT_SPACE,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub position: Box<Account<'info, Position>>,
    #[account(
        init,
        payer = owner,
        space = 8 + Request::INIT_SPACE,
        seeds = [REQUEST_SEED, pool.key().as_ref(), owner.key().as_ref(), &[args.slot]],
        bump,
    )]
    pub request: Box<Account<'info, Request>>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// Pays the escrow and receives payouts and refunds.
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Place a trade request: check it against the position as it stands, escrow an increase's
/// collateral, and leave it for a keeper to execute at a later price.
pub fn handle_place_order(ctx: Context<PlaceOrder>, args: PlaceOrderArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    require!(!args.kind.is_lp(), PerpError::WrongRequestKind);
    let pool_key = a.pool.key();
    let window = {
        let pool = a.pool.load()?;
        check_slot(&pool, &a.market)?;
        if args.kind.increases() {
            pool.require_not_paused(pause::OPEN)?;
        }
        pool.order_window_secs as i64
    };

    let position = &mut a.position;
    if position.owner == Pubkey::default() {
        position.pool = pool_key;
        position.market = a.market.key();
        position.owner = a.owner.key();
        position.bump = ctx.bumps.position;
    }
    check_order_args(&args, position, now)?;
    position.pending_requests = position
        .pending_requests
        .checked_add(1)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;

    let request = &mut a.request;
    let pool = a.pool.load()?;
    open_request(
        request,
        &a.owner,
        &a.system_program,
        &pool,
        NewRequest {
            pool: pool_key,
            owner: a.owner.key(),
            market: a.market.key(),
            pay_to: a.owner_quote.key(),
            refund_to: a.owner_quote.key(),
            kind: args.kind,
            slot: args.slot,
            bump: ctx.bumps.request,
            keeper_fee: args.keeper_fee,
        },
        now,
    )?;
    drop(pool);
    request.size = args.size;
    request.collateral = args.collateral;
    request.acceptable = args.acceptable_price_e9;
    request.trigger_price_e9 = args.trigger_price_e9;
    // an empty position (new, or kept open by other requests) is no position to tie to
    request.position_opened_at = if position.size != 0 {
        position.opened_at
    } else {
        0
    };
    request.expires_ts = if args.kind.is_trigger() {
        args.expires_ts
    } else {
        now + window
    };

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
    emit_request(request, outcome::PLACED, 0, a.owner.key(), 0);
    Ok(())
}

/// What each kind needs, checked against the position as it stands now (execution checks
/// again: the position may change in between).
fn check_order_args(args: &PlaceOrderArgs, position: &Position, now: i64) -> Result<()> {
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
            if position.size == 0 {
                check_open(args.size, args.collateral)?;
            } else {
                check_increase(position.size, args.size)?;
            }
        }
        MarketReduce | TakeProfit | StopLoss => {
            require!(position.size != 0, PerpError::NoPosition);
            require!(
                args.size >= 0 && args.collateral == 0,
                PerpError::InvalidRequest
            );
        }
        RemoveCollateral => {
            // on an empty position: claim a payout parked there (see `execute_order`)
            require!(
                position.size != 0 || position.collateral > 0,
                PerpError::NoPosition
            );
            require!(args.collateral > 0, PerpError::ZeroAmount);
            require!(args.size == 0, PerpError::InvalidRequest);
        }
        Deposit | Withdraw => return err!(PerpError::WrongRequestKind),
    }
    Ok(())
}
