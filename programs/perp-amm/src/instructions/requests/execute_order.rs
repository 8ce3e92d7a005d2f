use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::EXECUTION_PRICE_MAX_AGE_SECS;
use crate::engine::{
    FillOutcome, TradeInput, apply_close, apply_decrease, apply_increase, apply_remove_collateral,
    check_increase, check_open,
};
use crate::errors::PerpError;
use crate::events::CollateralEvent;
use crate::instructions::requests::{
    acceptable_limit, close_request, emit_request, ends_request, error_code, holds_position,
    outcome, position_for, position_gone, release_position, return_outcome, unused,
    usable_token_account,
};
use crate::instructions::shared::{leverage_cap, market_context, pool_risk_model, transfer_out};
use crate::instructions::trader::emit_fill;
use crate::state::{
    Market, OracleUse, Pool, Position, Request, RequestKind, RiskModel, limit_price, pause,
};

#[derive(Accounts)]
pub struct ExecuteOrder<'info> {
    /// Anyone; earns the request's keeper fee.
    #[account(mut)]
    pub keeper: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: the owner's position in the market: checked by its fields when it exists;
    /// created by this execution (`position_for`) for an open placed without one.
    #[account(mut)]
    pub position: UncheckedAccount<'info>,
    #[account(
        mut,
        has_one = pool @ PerpError::WrongPool,
        has_one = market @ PerpError::WrongMarket,
        has_one = owner @ PerpError::NotRequestOwner,
    )]
    pub request: Box<Account<'info, Request>>,
    /// CHECK: the request's owner (checked by `has_one`): gets the rent back.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// (any account otherwise; the client passes the calendar's address either way).
    pub calendar: UncheckedAccount<'info>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// CHECK: the request's payout and refund account (its `pay_to`). Not loaded as a token
    /// account: if the owner closed or froze it, the payout is parked in the position instead
    /// (see `usable_token_account`), so he cannot block his own request's execution.
    #[account(mut, address = request.pay_to @ PerpError::WrongPayoutAccount)]
    pub owner_quote: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    /// The pool's risk model, required when it has one (every fill moves its Imbalance Score).
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
    pub system_program: Program<'info, System>,
}

/// Execute a trade request at the market's current oracle price, which must be published after
/// the request, at most `EXECUTION_PRICE_MAX_AGE_SECS` old, and no older than any price the
/// market has used. A fill the engine refuses closes a market request with its escrow refunded
/// and the reason returned (a trigger order stays pending unless its own price bound refused
/// it); the keeper is paid either way.
pub fn handle_execute_order<'info>(ctx: Context<'info, ExecuteOrder<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a: &'info mut ExecuteOrder<'info> = ctx.accounts;
    let kind = a.request.kind;
    require!(!kind.is_lp(), PerpError::WrongRequestKind);
    require!(now <= a.request.expires_ts, PerpError::RequestExpired);
    let position_info: &'info AccountInfo<'info> = a.position.as_ref();
    let request_info = a.request.to_account_info();
    let created = unused(position_info);
    let mut pos_account =
        position_for(position_info, &request_info, &a.request, &a.system_program)?;
    require!(
        !position_gone(&pos_account, &a.request),
        PerpError::PositionChanged
    );
    let pool_key = a.pool.key();
    let market = &a.market;
    let (group, usage) = match kind {
        RequestKind::MarketIncrease
        | RequestKind::LimitIncrease
        | RequestKind::RemoveCollateral => (pause::OPEN, OracleUse::RiskIncreasing),
        _ => (pause::CLOSE, OracleUse::RiskReducing),
    };
    let mc = market_context(&a.pool, market, &a.oracle, &a.calendar, group, usage, now)?;
    let (price, seeds, quote_mint) = (mc.price, mc.seeds, a.pool.load()?.quote_mint);
    require!(
        price.publish_time > a.request.price_not_before(),
        PerpError::PriceBeforeRequest
    );
    require!(
        now - price.publish_time <= EXECUTION_PRICE_MAX_AGE_SECS,
        PerpError::ExecutionPriceTooOld
    );
    require!(
        price.publish_time >= a.pool.load()?.slot(market.index)?.last_price_ts,
        PerpError::PriceOlderThanMarket
    );
    // buying: increasing a long, or reducing a short
    let buy = if kind.increases() {
        a.request.size > 0
    } else {
        pos_account.size < 0
    };
    let limit = limit_price(
        acceptable_limit(a.request.acceptable, buy),
        market.base_decimals,
        mc.quote_decimals,
    )?;
    if kind.is_trigger() {
        let trigger = limit_price(
            a.request.trigger_price_e9,
            market.base_decimals,
            mc.quote_decimals,
        )?;
        require!(
            trigger_reached(kind, &pos_account, a.request.size, price.price, trigger),
            PerpError::TriggerNotReached
        );
    }
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let max_leverage = if group == pause::OPEN {
        leverage_cap(&*a.pool.load()?, market, &a.calendar, now)?
    } else {
        market.params.max_leverage
    };

    let payable = usable_token_account(&a.owner_quote, &quote_mint, &a.request.owner);
    let position_key = position_info.key();
    let request = &a.request;
    let position: &mut Position = &mut pos_account;
    let (reason, to_owner) = {
        let mut pool = a.pool.load_mut()?;
        // a refused fill must leave no trace: keep the state to put back
        let saved_pool = bytemuck::bytes_of(&*pool).to_vec();
        let saved_position = position.clone();
        let input = TradeInput {
            market,
            price,
            limit,
            now,
            model: model.as_deref(),
            max_leverage,
        };
        let (reason, to_owner) = match run(&mut pool, position, &input, request) {
            Ok((size, out, payout)) => {
                if kind == RequestKind::RemoveCollateral {
                    emit!(CollateralEvent {
                        position: position_key,
                        owner: position.owner,
                        amount: -(request.collateral as i64),
                        collateral: position.collateral,
                    });
                } else {
                    emit_fill(&pool, pool_key, market, position, size, &price, &out)?;
                }
                (0, payout)
            }
            Err(e) => {
                let code = error_code(&e);
                if !ends_request(kind, code) {
                    return Err(e);
                }
                bytemuck::bytes_of_mut(&mut *pool).copy_from_slice(&saved_pool);
                *position = saved_position;
                let escrow = request.escrowed_quote();
                pool.request_escrow -= escrow;
                pool.total_collateral += escrow;
                (code, escrow)
            }
        };
        pool.slot_mut(market.index)?.use_price(price.publish_time)?;
        // what the owner is owed is margin until it leaves the vault: paid now, or parked in
        // the (possibly empty) position for a margin-removal request to claim
        if to_owner > 0 {
            if payable {
                pool.total_collateral -= to_owner;
            } else {
                let before = (position.size, position.collateral);
                position.collateral += to_owner;
                crate::engine::sync_side_collateral(&mut pool, market.index, before, position)?;
            }
        }
        (reason, to_owner)
    };
    if payable {
        transfer_out(
            &a.token_program,
            a.vault.to_account_info(),
            a.owner_quote.to_account_info(),
            a.pool.to_account_info(),
            &seeds.seeds(),
            to_owner,
        )?;
    }
    let done = if reason == 0 {
        outcome::EXECUTED
    } else {
        outcome::REFUSED
    };
    emit_request(
        request.key(),
        request,
        done,
        reason,
        a.keeper.key(),
        price.publish_time,
    );
    return_outcome(done, reason);
    let owner = a.owner.to_account_info();
    // a request that holds the position (placed on it, or it created it) lets it go
    if created || holds_position(&a.request) {
        release_position(&mut pos_account, &owner)?;
    }
    pos_account.exit(&crate::ID)?;
    close_request(&a.request, &owner, Some(&a.keeper.to_account_info()))
}

/// The fill a request asks for: (signed fill size, outcome, payout to the owner).
fn run(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    request: &Request,
) -> Result<(i64, FillOutcome, u64)> {
    match request.kind {
        RequestKind::MarketIncrease | RequestKind::LimitIncrease => {
            let collateral = request.collateral;
            pool.request_escrow -= collateral;
            if position.size == 0 {
                check_open(request.size, collateral)?;
                position.opened_at = t.now;
            } else {
                check_increase(position.size, request.size)?;
            }
            let out = apply_increase(pool, position, t, request.size, collateral)?;
            Ok((request.size, out, 0))
        }
        RequestKind::MarketReduce | RequestKind::TakeProfit | RequestKind::StopLoss => {
            let whole = position.size.unsigned_abs();
            let size = request.size.unsigned_abs();
            if size == 0 || size >= whole {
                // the payout stays margin until the caller pays or parks it
                let (size, out, payout) = apply_close(pool, position, t)?;
                pool.total_collateral += payout;
                Ok((size, out, payout))
            } else {
                let (signed, out) = apply_decrease(pool, position, t, size)?;
                Ok((signed, out, 0))
            }
        }
        RequestKind::RemoveCollateral => {
            apply_remove_collateral(pool, position, t, request.collateral)?;
            pool.total_collateral += request.collateral;
            Ok((0, FillOutcome::default(), request.collateral))
        }
        RequestKind::Deposit | RequestKind::Withdraw => err!(PerpError::WrongRequestKind),
    }
}

/// Whether `price` has reached a trigger order's `trigger`. A limit open fills at or better
/// than its trigger (at or below for a long, at or above for a short); a take-profit when the
/// price has moved to the trigger in the position's favour, a stop-loss against it.
pub fn trigger_reached(
    kind: RequestKind,
    position: &Position,
    request_size: i64,
    price: keel_math::Fix,
    trigger: keel_math::Fix,
) -> bool {
    match kind {
        RequestKind::LimitIncrease => {
            if request_size > 0 {
                price <= trigger
            } else {
                price >= trigger
            }
        }
        RequestKind::TakeProfit => {
            if position.size > 0 {
                price >= trigger
            } else {
                price <= trigger
            }
        }
        RequestKind::StopLoss => {
            if position.size > 0 {
                price <= trigger
            } else {
                price >= trigger
            }
        }
        _ => true,
    }
}
