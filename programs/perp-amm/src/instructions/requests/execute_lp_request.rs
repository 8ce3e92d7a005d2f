use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token};
use keel_math::Rounding;
use keel_math::wide::mul_div_u128;

use crate::constants::{DEAD_SHARES, EXECUTION_PRICE_MAX_AGE_SECS};
use crate::engine::{Valuation, value_pool};
use crate::errors::PerpError;
use crate::events::LpEvent;
use crate::instructions::requests::{
    close_request, emit_request, ends_request, error_code, outcome, return_outcome,
    usable_token_account,
};
use crate::instructions::shared::{PoolSeeds, burn_signed, closed_markets, mint_to, transfer_out};
use crate::state::{ClosedMarkets, Mark, Pool, Request, RequestKind, load_pool_marks, pause};

/// Remaining accounts: the oracle of every active market, in market order.
#[derive(Accounts)]
pub struct ExecuteLpRequest<'info> {
    /// Anyone; earns the request's keeper fee.
    #[account(mut)]
    pub keeper: Signer<'info>,
    #[account(
        mut,
        has_one = vault @ PerpError::WrongVault,
        has_one = lp_mint @ PerpError::WrongMint,
    )]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongPool, has_one = owner @ PerpError::NotRequestOwner)]
    pub request: Box<Account<'info, Request>>,
    /// CHECK: the request's owner (checked by `has_one`): gets the rent back.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// CHECK: the pool's vault (`has_one`); the token program checks every move.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    #[account(mut)]
    pub lp_mint: Box<Account<'info, Mint>>,
    /// CHECK: the pool's LP escrow (its address is the pool's).
    #[account(mut, address = pool.load()?.lp_escrow @ PerpError::WrongVault)]
    pub lp_escrow: UncheckedAccount<'info>,
    /// CHECK: the owner's LP account (deposit) or quote account (withdrawal): the request's
    /// `pay_to`, checked when it was placed (the token program checks the mint again).
    #[account(mut, address = request.pay_to @ PerpError::WrongPayoutAccount)]
    pub pay_to: UncheckedAccount<'info>,
    /// CHECK: where the escrow returns if the request is refused: its `refund_to`.
    #[account(mut, address = request.refund_to @ PerpError::WrongPayoutAccount)]
    pub refund_to: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// (any account otherwise; the client passes the calendar's address either way).
    pub calendar: UncheckedAccount<'info>,
}

/// Execute a deposit or withdrawal at the markets' current prices: every market with open
/// interest is priced by an oracle print published after the request became executable and no
/// older than the market's latest. Deposits price shares on the pool valued high, withdrawals
/// on the pool valued low and never take capital reserved for open positions. A refusal
/// (slippage, reserve) returns the escrow; the keeper is paid either way.
pub fn handle_execute_lp_request<'info>(
    ctx: Context<'info, ExecuteLpRequest<'info>>,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let a = &ctx.accounts;
    let kind = a.request.kind;
    require!(kind.is_lp(), PerpError::WrongRequestKind);
    // never in the second it was placed (nor before its delay), even when no market has open
    // interest and so no print is needed
    require!(
        now > a.request.price_not_before(),
        PerpError::RequestNotReady
    );
    require!(now <= a.request.expires_ts, PerpError::RequestExpired);
    let supply = a.lp_mint.supply;
    let (result, value, seeds) = {
        let mut pool = a.pool.load_mut()?;
        pool.require_not_paused(pause::LP)?;
        let closed = closed_markets(&pool, &a.calendar, now)?;
        let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now, &closed)?;
        use_marks(
            &mut pool,
            &marks,
            &closed,
            a.request.price_not_before(),
            now,
        )?;
        let deposit = kind == RequestKind::Deposit;
        let valuation = value_pool(
            &pool,
            &marks,
            if deposit {
                Valuation::High
            } else {
                Valuation::Low
            },
            &closed,
        )?;
        let result = if deposit {
            deposit_shares(&pool, valuation.value, supply, &a.request)
        } else {
            withdrawal_amount(&pool, &valuation, supply, &a.request)
        };
        // an account the owner closed (or froze) since placing cannot take the payout: the
        // request is refused and refunded, so closing it is no veto on the keepers' execution
        let pay_mint = if deposit {
            pool.lp_mint
        } else {
            pool.quote_mint
        };
        let result = match result {
            Ok(_) if !usable_token_account(&a.pay_to, &pay_mint, &a.request.owner) => {
                err!(PerpError::WrongPayoutAccount)
            }
            r => r,
        };
        if let Err(e) = &result
            && !ends_request(kind, error_code(e))
        {
            // a withdrawal the reserve holds back stays pending (its delay is not restarted)
            return Err(result.unwrap_err());
        }
        (result, valuation.value, PoolSeeds::of(&pool))
    };
    let reason = result.as_ref().err().map(error_code).unwrap_or(0);
    let (pool_ai, escrow_ai) = (a.pool.to_account_info(), a.lp_escrow.to_account_info());
    match (kind, result) {
        (RequestKind::Deposit, Ok(shares)) => {
            let amount = a.request.collateral;
            mint_to(
                &a.token_program,
                a.lp_mint.to_account_info(),
                a.pay_to.to_account_info(),
                pool_ai,
                &seeds.seeds(),
                shares,
            )?;
            let mut pool = a.pool.load_mut()?;
            if pool.total_shares(supply) == 0 {
                pool.dead_shares = DEAD_SHARES;
            }
            pool.request_escrow -= amount;
            pool.lp_capital = pool
                .lp_capital
                .checked_add(amount)
                .ok_or_else(|| error!(PerpError::MathOverflow))?;
            // the LPs' income so far becomes capital premiums price against (hourly at most)
            pool.price_income(now);
            emit_lp(
                &pool,
                pool_key,
                a.request.owner,
                true,
                amount,
                shares,
                value,
            );
        }
        (RequestKind::Withdraw, Ok(amount)) => {
            let shares = a.request.size as u64;
            burn_signed(
                &a.token_program,
                a.lp_mint.to_account_info(),
                escrow_ai,
                pool_ai.clone(),
                &seeds.seeds(),
                shares,
            )?;
            transfer_out(
                &a.token_program,
                a.vault.to_account_info(),
                a.pay_to.to_account_info(),
                pool_ai,
                &seeds.seeds(),
                amount,
            )?;
            let mut pool = a.pool.load_mut()?;
            pool.lp_capital -= amount;
            pool.price_income(now);
            emit_lp(
                &pool,
                pool_key,
                a.request.owner,
                false,
                amount,
                shares,
                value,
            );
        }
        (RequestKind::Deposit, Err(_)) => {
            let amount = a.request.collateral;
            transfer_out(
                &a.token_program,
                a.vault.to_account_info(),
                a.refund_to.to_account_info(),
                pool_ai,
                &seeds.seeds(),
                amount,
            )?;
            a.pool.load_mut()?.request_escrow -= amount;
        }
        (_, Err(_)) => transfer_out(
            &a.token_program,
            escrow_ai,
            a.refund_to.to_account_info(),
            pool_ai,
            &seeds.seeds(),
            a.request.size as u64,
        )?,
        _ => return err!(PerpError::WrongRequestKind),
    }
    let done = if reason == 0 {
        outcome::EXECUTED
    } else {
        outcome::REFUSED
    };
    // an execution's LP event says what moved; a refusal's request event says why (and the
    // outcome goes back as return data either way)
    if reason != 0 {
        emit_request(a.request.key(), &a.request, done, reason, a.keeper.key(), 0);
    }
    return_outcome(done, reason);
    close_request(
        &a.request,
        &a.owner.to_account_info(),
        Some(&a.keeper.to_account_info()),
    )
}

/// Every priced market's print must be published after `not_before`, be at most
/// `EXECUTION_PRICE_MAX_AGE_SECS` old and no older than the market's latest; it then becomes the
/// market's latest. A closed market's is its last, before the request (the allowance is what
/// covers it), and not its latest use.
fn use_marks(
    pool: &mut Pool,
    marks: &[Option<Mark>],
    closed: &ClosedMarkets,
    not_before: i64,
    now: i64,
) -> Result<()> {
    // closed markets' bits, shifted along with the slots (a test per slot, no index)
    let mut closed_bits = closed.mask;
    for (slot, mark) in pool.markets.iter_mut().zip(marks) {
        let is_closed = closed_bits & 1 != 0;
        closed_bits >>= 1;
        let Some(mark) = mark else {
            continue;
        };
        if is_closed {
            continue;
        }
        require!(
            mark.publish_time > not_before,
            PerpError::PriceBeforeRequest
        );
        require!(
            now - mark.publish_time <= EXECUTION_PRICE_MAX_AGE_SECS,
            PerpError::ExecutionPriceTooOld
        );
        slot.use_price(mark.publish_time)?;
    }
    Ok(())
}

/// Shares a deposit mints at pool value `value` (valued high): 1:1 for the first deposit, less
/// the locked dead shares.
pub fn deposit_shares(pool: &Pool, value: i128, supply: u64, request: &Request) -> Result<u64> {
    let amount = request.collateral;
    let total = pool.total_shares(supply);
    let shares = if total == 0 {
        amount - DEAD_SHARES
    } else {
        require!(value > 0, PerpError::PoolInsolvent);
        let s = mul_div_u128(amount as u128, total, value as u128, Rounding::Down)
            .map_err(|_| error!(PerpError::MathOverflow))?;
        u64::try_from(s).map_err(|_| error!(PerpError::MathOverflow))?
    };
    require!(shares > 0, PerpError::DepositTooSmall);
    require!(shares >= request.acceptable, PerpError::SlippageExceeded);
    Ok(shares)
}

/// Quote tokens a withdrawal pays (pool valued low), never taking capital reserved for open
/// positions.
pub fn withdrawal_amount(
    pool: &Pool,
    valuation: &crate::engine::PoolValuation,
    supply: u64,
    request: &Request,
) -> Result<u64> {
    let shares = request.size as u64;
    require!(valuation.value > 0, PerpError::PoolInsolvent);
    let total = pool.total_shares(supply);
    let amount = mul_div_u128(
        shares as u128,
        valuation.value as u128,
        total,
        Rounding::Down,
    )
    .map_err(|_| error!(PerpError::MathOverflow))?;
    let amount = u64::try_from(amount).map_err(|_| error!(PerpError::MathOverflow))?;
    let reserved = valuation.reserved.unwrap_or(0);
    require!(
        amount as u128 + reserved <= pool.lp_capital as u128,
        PerpError::CapitalReserved
    );
    require!(amount > 0, PerpError::ZeroAmount);
    require!(amount >= request.acceptable, PerpError::SlippageExceeded);
    Ok(amount)
}

fn emit_lp(
    pool: &Pool,
    pool_key: Pubkey,
    owner: Pubkey,
    deposit: bool,
    amount: u64,
    shares: u64,
    value: i128,
) {
    emit!(LpEvent {
        pool: pool_key,
        owner,
        deposit,
        amount,
        shares,
        pool_value: value,
        lp_capital: pool.lp_capital,
    });
}
