use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use keel_math::Fix;
use keel_math::crp::{Balances, Swap, conversion, sale_price, swap_exact_in, swap_exact_out};
use keel_math::wide::{Rounding, mul_div_u128};

use crate::constants::BPS;
use crate::errors::{CrpError, math};
use crate::events::{FlightToQualityEvent, SwapEvent};
use crate::instructions::shared::{
    PoolSeeds, add, clear_breach_if_recovered, sub, transfer_in, transfer_out,
};
use crate::oracle::{Prices, load_prices};
use crate::state::{CrpPool, pause, status};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct SwapArgs {
    /// Risky in, riskless out (a sale to the pool); otherwise riskless in, risky out.
    pub risky_in: bool,
    /// `amount` is what comes in and `limit` the least that may go out; otherwise `amount` is what
    /// goes out and `limit` the most that may come in.
    pub exact_in: bool,
    pub amount: u64,
    pub limit: u64,
}

#[derive(Accounts)]
pub struct SwapTokens<'info> {
    pub trader: Signer<'info>,
    #[account(
        mut,
        has_one = risky_vault @ CrpError::WrongVault,
        has_one = riskless_vault @ CrpError::WrongVault,
    )]
    pub pool: AccountLoader<'info, CrpPool>,
    /// CHECK: the pool's oracle (`load_prices` checks it): the band weighted swaps stay in, the
    /// conversion sale's price.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut)]
    pub risky_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub riskless_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = trader_risky.mint == pool.load()?.risky_mint @ CrpError::WrongMint, token::authority = trader)]
    pub trader_risky: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = trader_riskless.mint == pool.load()?.riskless_mint @ CrpError::WrongMint, token::authority = trader)]
    pub trader_riskless: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Trade against the pool. While active: through the weighted invariant at the weights of this
/// moment of the ramp, a fee on the riskless leg of which a share goes to the reserve fund, no
/// more in or out than `max_trade_ratio_bps` of the balance, all the swaps of one slot together
/// moving a balance by no more than that share of it, and never pushing the pool's price past
/// the oracle's confidence band widened by the fee (pausable). The pool trades toward the
/// market, not beyond it: a trader cannot skew it to profit from the weight's ramp. While converting
/// (flight to quality, or settling a debt the riskless side does not cover): only riskless in,
/// risky out, at the oracle price less the conversion discount — never paused, since it is the
/// way out for lenders.
pub fn handle_swap(ctx: Context<SwapTokens>, args: SwapArgs) -> Result<()> {
    require!(args.amount > 0, CrpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let (swap, seeds) = {
        let mut pool = ctx.accounts.pool.load_mut()?;
        let (swap, reserve_cut, conversion) = match pool.status {
            status::CONVERTING | status::SETTLING => (
                sell_risky(&mut pool, pool_key, &ctx.accounts.oracle, &args, now)?,
                0,
                true,
            ),
            _ => {
                pool.require_not_paused(pause::SWAP)?;
                pool.require_active(now)?;
                let prices = load_prices(&pool, &ctx.accounts.oracle, now)?;
                pool.record_price(&prices);
                clear_breach_if_recovered(&mut pool, &prices)?;
                let slot = Clock::get()?.slot;
                let (swap, cut) = weighted_swap(&mut pool, &args, now, slot, &prices)?;
                (swap, cut, false)
            }
        };
        emit!(SwapEvent {
            pool: pool_key,
            trader: ctx.accounts.trader.key(),
            risky_in: args.risky_in,
            conversion,
            amount_in: swap.amount_in,
            amount_out: swap.amount_out,
            fee: swap.fee,
            reserve_cut,
            risky_balance: pool.risky_balance,
            riskless_balance: pool.riskless_balance,
        });
        if args.exact_in {
            require!(swap.amount_out >= args.limit, CrpError::SlippageExceeded);
        } else {
            require!(swap.amount_in <= args.limit, CrpError::SlippageExceeded);
        }
        (swap, PoolSeeds::of(&pool))
    };

    let a = &ctx.accounts;
    let (from, vault_in, vault_out, to) = if args.risky_in {
        (
            &a.trader_risky,
            &a.risky_vault,
            &a.riskless_vault,
            &a.trader_riskless,
        )
    } else {
        (
            &a.trader_riskless,
            &a.riskless_vault,
            &a.risky_vault,
            &a.trader_risky,
        )
    };
    transfer_in(
        &a.token_program,
        from.to_account_info(),
        vault_in.to_account_info(),
        a.trader.to_account_info(),
        swap.amount_in,
    )?;
    transfer_out(
        &a.token_program,
        vault_out.to_account_info(),
        to.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        swap.amount_out,
    )?;
    Ok(())
}

/// Returns the swap and the fee's reserve share.
fn weighted_swap(
    pool: &mut CrpPool,
    args: &SwapArgs,
    now: i64,
    slot: u64,
    prices: &Prices,
) -> Result<(Swap, u64)> {
    require!(
        pool.risky_balance > 0 && pool.riskless_balance > 0,
        CrpError::WrongState
    );
    if pool.swap_slot != slot {
        pool.swap_slot = slot;
        pool.slot_risky_start = pool.risky_balance;
        pool.slot_riskless_start = pool.riskless_balance;
    }
    let weight = pool.weight_at(now)?;
    let balances = Balances {
        risky: pool.risky_balance,
        riskless: pool.riskless_balance,
        risky_weight: weight,
    };
    // the fee rate rounded up, in the pool's favour
    let fee_rate =
        Fix::from_bits(((pool.params.fee_bps as u128) << 64).div_ceil(BPS as u128) as i128);
    let (balance_in, balance_out) = if args.risky_in {
        (pool.risky_balance, pool.riskless_balance)
    } else {
        (pool.riskless_balance, pool.risky_balance)
    };
    // the ratio caps apply before pricing, so an oversized exact-out fails as too large rather
    // than on the invariant's domain
    let cap =
        |balance: u64| (balance as u128 * pool.params.max_trade_ratio_bps as u128) / BPS as u128;
    if args.exact_in {
        require!(
            args.amount as u128 <= cap(balance_in),
            CrpError::TradeTooLarge
        );
    } else {
        require!(
            args.amount as u128 <= cap(balance_out),
            CrpError::TradeTooLarge
        );
    }
    // at a clamped weight (0.99 or 0.01) the invariant's power is steep: a trade whose price
    // does not fit the arithmetic is too large for the pool, not a math failure
    let swap = if args.exact_in {
        swap_exact_in(&balances, args.risky_in, args.amount, fee_rate)
    } else {
        swap_exact_out(&balances, args.risky_in, args.amount, fee_rate)
    }
    .map_err(|e| match e {
        keel_math::MathError::Overflow => error!(CrpError::TradeTooLarge),
        e => math(e),
    })?;
    require!(
        swap.amount_in as u128 <= cap(balance_in) && swap.amount_out as u128 <= cap(balance_out),
        CrpError::TradeTooLarge
    );
    require!(swap.amount_out > 0, CrpError::ZeroAmount);
    // the fee stays in the pool except the reserve's share (rounded down: the rest is the pool's)
    let reserve_cut = mul_div_u128(
        swap.fee as u128,
        pool.params.reserve_share_bps as u128,
        BPS as u128,
        Rounding::Down,
    )
    .map_err(math)? as u64;
    if args.risky_in {
        pool.risky_balance = add(pool.risky_balance, swap.amount_in)?;
        pool.riskless_balance = sub(pool.riskless_balance, add(swap.amount_out, reserve_cut)?)?;
    } else {
        pool.riskless_balance = add(pool.riskless_balance, sub(swap.amount_in, reserve_cut)?)?;
        pool.risky_balance = sub(pool.risky_balance, swap.amount_out)?;
    }
    pool.reserve = add(pool.reserve, reserve_cut)?;
    pool.reserve_premiums = add(pool.reserve_premiums, reserve_cut)?;
    // toward the market, not past it: a swap that raises the pool's price (riskless in) may not
    // leave it above the oracle's mid price plus the fee, one that lowers it not below the mid
    // less the fee (the mid, not the confidence interval's ends: a wide print must not widen
    // what a trader can push the pool to)
    let spot = spot_price(pool.risky_balance, pool.riskless_balance, weight)?;
    let fee = pool.params.fee_bps as u128;
    let edge = |price: Fix, up: bool| {
        let factor = if up {
            BPS as u128 + fee
        } else {
            BPS as u128 - fee
        };
        mul_div_u128(
            price.to_bits() as u128,
            factor,
            BPS as u128,
            Rounding::Nearest,
        )
    };
    let within_band = if args.risky_in {
        spot >= edge(prices.mid, false).map_err(math)?
    } else {
        spot <= edge(prices.mid, true).map_err(math)?
    };
    require!(within_band, CrpError::PriceOffOracle);
    // every swap of the slot together: a chain of capped swaps is one large trade
    let within = |balance: u64, start: u64| {
        balance.abs_diff(start) as u128 * BPS as u128
            <= start as u128 * pool.params.max_trade_ratio_bps as u128
    };
    require!(
        within(pool.risky_balance, pool.slot_risky_start)
            && within(pool.riskless_balance, pool.slot_riskless_start),
        CrpError::SlotTradeLimit
    );
    Ok((swap, reserve_cut))
}

/// The weighted pool's price, riskless native per risky native as Fix bits: (y/(1 − w))/(x/w).
fn spot_price(risky: u64, riskless: u64, weight: Fix) -> Result<u128> {
    let w = weight.to_bits() as u128;
    let num = riskless as u128 * w;
    let den = risky as u128 * ((1u128 << 64) - w);
    require!(den > 0, CrpError::WrongState);
    mul_div_u128(num, 1 << 64, den, Rounding::Nearest).map_err(math)
}

/// The conversion sale: riskless in, risky out at the discounted oracle price. Settling sells
/// only what covers the debt; flight to quality sells everything and then freezes the pool.
fn sell_risky(
    pool: &mut CrpPool,
    pool_key: Pubkey,
    oracle: &AccountInfo,
    args: &SwapArgs,
    now: i64,
) -> Result<Swap> {
    // the sale only buys riskless for risky
    if args.risky_in {
        return Err(if pool.status == status::SETTLING {
            error!(CrpError::Settling)
        } else {
            error!(CrpError::Converting)
        });
    }
    let prices = load_prices(pool, oracle, now)?;
    pool.record_price(&prices);
    let price = sale_price(prices.mid, pool.params.conversion_discount_bps).map_err(math)?;
    let available = if pool.status == status::SETTLING {
        let short = sub(pool.debt_face, pool.riskless_balance.min(pool.debt_face))?;
        let needed = mul_div_u128(
            (short as u128) << 64,
            1,
            price.to_bits() as u128,
            Rounding::Up,
        )
        .map_err(math)?;
        needed.min(pool.risky_balance as u128) as u64
    } else {
        pool.risky_balance
    };
    require!(available > 0, CrpError::WrongState);
    let swap = conversion(price, available, args.exact_in, args.amount).map_err(math)?;
    require!(
        swap.amount_out > 0 && swap.amount_in > 0,
        CrpError::ZeroAmount
    );
    pool.riskless_balance = add(pool.riskless_balance, swap.amount_in)?;
    pool.risky_balance = sub(pool.risky_balance, swap.amount_out)?;
    if pool.status == status::CONVERTING && pool.risky_balance == 0 {
        pool.status = status::CONVERTED;
        emit!(FlightToQualityEvent {
            pool: pool_key,
            price: prices.mid.to_bits(),
            pool_ltv_bps: 0,
            risky_balance: 0,
            riskless_balance: pool.riskless_balance,
            completed: true,
            ts: now,
        });
    }
    Ok(swap)
}
