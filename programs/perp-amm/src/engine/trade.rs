//! What each trade instruction does to the pool and the position once its accounts are loaded
//! and its tokens moved in, over plain data. The handlers call these; off-chain quotes (`keel
//! quote`, the keeper, the sandbox) call them on copies of the accounts, so a quote is the
//! instruction's own arithmetic.

use anchor_lang::prelude::*;
use keel_math::Fix;

use crate::engine::{
    FillOutcome, Pricing, below_maintenance, bps_up_u64, check_initial_margin,
    check_withdrawal_margin, equity, fill, position_notional, settle_funding, side_profits,
    sync_side_collateral, traders_profit,
};
use crate::errors::PerpError;
use crate::state::{Mark, Market, OraclePrice, Pool, Position, RiskModel};

/// A trade's inputs besides the pool and the position.
#[derive(Clone, Copy)]
pub struct TradeInput<'a> {
    pub market: &'a Market,
    pub price: OraclePrice,
    /// Worst acceptable average price, quote native per base native.
    pub limit: Fix,
    pub now: i64,
    pub model: Option<&'a RiskModel>,
    /// The leverage new risk may take: the market's `max_leverage`, or its leverage over a
    /// close in the hour before a long close (`leverage_cap`).
    pub max_leverage: u32,
}

/// What `open_position` requires of its arguments before anything else: a size and collateral.
/// The handler and off-chain quotes call it, so a quote refuses what the instruction refuses.
pub fn check_open(size: i64, collateral: u64) -> Result<()> {
    require!(size != 0 && collateral > 0, PerpError::ZeroAmount);
    Ok(())
}

/// What `increase_position` requires: a size, on an open position, with the position's sign
/// (a reduction is `decrease_position`'s).
pub fn check_increase(position_size: i64, size: i64) -> Result<()> {
    require!(size != 0, PerpError::ZeroAmount);
    require!(
        position_size != 0 && (position_size > 0) == (size > 0),
        PerpError::InvalidSize
    );
    Ok(())
}

/// `open_position` (on a new, empty position) and `increase_position`: post `collateral`,
/// fill `size` at the market price with the open fee, then the initial margin, caps and the
/// Imbalance Score limit.
pub fn apply_increase(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    size: i64,
    collateral: u64,
) -> Result<FillOutcome> {
    require_covered(t.model, t.market)?;
    let before = (position.size, position.collateral);
    position.collateral = position
        .collateral
        .checked_add(collateral)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    pool.total_collateral = pool
        .total_collateral
        .checked_add(collateral)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    let out = fill(
        pool,
        t.market.index,
        &t.market.params,
        position,
        size,
        &t.price,
        t.now,
        Pricing::Market {
            limit: t.limit,
            fee_bps: t.market.params.open_fee_bps,
        },
        t.model,
    )?;
    check_after_increase(pool, t.market, position, t.price.price, t.max_leverage)?;
    track_imbalance(
        pool,
        t.model,
        t.market,
        size,
        t.price.price,
        t.now,
        true,
        out.effect,
    )?;
    sync_side_collateral(pool, t.market.index, before, position)?;
    Ok(out)
}

/// `decrease_position`: reduce by `size` base units (positive, less than the position) with the
/// close fee; what remains must not be dust or below maintenance. Returns the signed fill size
/// too.
pub fn apply_decrease(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    size: u64,
) -> Result<(i64, FillOutcome)> {
    require!(size > 0, PerpError::ZeroAmount);
    let current = position.size;
    require!(size < current.unsigned_abs(), PerpError::InvalidSize);
    let before = (position.size, position.collateral);
    let signed = if current > 0 {
        -(size as i64)
    } else {
        size as i64
    };
    let out = fill(
        pool,
        t.market.index,
        &t.market.params,
        position,
        signed,
        &t.price,
        t.now,
        Pricing::Market {
            limit: t.limit,
            fee_bps: t.market.params.close_fee_bps,
        },
        t.model,
    )?;
    require_not_dust(position, &t.market.params, t.price.price)?;
    let slot = pool.slot(t.market.index)?;
    require!(
        !below_maintenance(slot, position, &t.market.params, t.price.price)?,
        PerpError::BelowMaintenanceMargin
    );
    track_imbalance(
        pool,
        t.model,
        t.market,
        signed,
        t.price.price,
        t.now,
        false,
        out.effect,
    )?;
    sync_side_collateral(pool, t.market.index, before, position)?;
    Ok((signed, out))
}

/// `close_position`: fill the whole position with the close fee and release its collateral.
/// Returns the fill size, the fill and the payout to the owner.
pub fn apply_close(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
) -> Result<(i64, FillOutcome, u64)> {
    let before = (position.size, position.collateral);
    let size = -position.size;
    let out = if size != 0 {
        let out = fill(
            pool,
            t.market.index,
            &t.market.params,
            position,
            size,
            &t.price,
            t.now,
            Pricing::Market {
                limit: t.limit,
                fee_bps: t.market.params.close_fee_bps,
            },
            t.model,
        )?;
        track_imbalance(
            pool,
            t.model,
            t.market,
            size,
            t.price.price,
            t.now,
            false,
            out.effect,
        )?;
        out
    } else {
        FillOutcome::default()
    };
    let payout = position.collateral;
    position.collateral = 0;
    pool.total_collateral -= payout;
    sync_side_collateral(pool, t.market.index, before, position)?;
    Ok((size, out, payout))
}

/// `remove_collateral`: settle funding, take `amount` of margin out; what remains must meet
/// the initial margin at `t.price` without counting unrealised profit.
pub fn apply_remove_collateral(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    amount: u64,
) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let before = (position.size, position.collateral);
    settle_funding(
        pool,
        t.market.index,
        &t.market.params,
        position,
        t.price.price,
        t.now,
    )?;
    require!(
        position.collateral >= amount,
        PerpError::InsufficientCollateral
    );
    position.collateral -= amount;
    pool.total_collateral -= amount;
    if position.size != 0 {
        check_withdrawal_margin(
            pool.slot(t.market.index)?,
            position,
            t.max_leverage,
            t.price.price,
        )?;
    }
    sync_side_collateral(pool, t.market.index, before, position)?;
    Ok(())
}

/// What a liquidation paid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiquidationOutcome {
    /// The position's size before (the fill is its negation).
    pub size: i64,
    pub fill: FillOutcome,
    pub keeper_reward: u64,
    pub returned_to_owner: u64,
}

/// `liquidate`: a position below maintenance closes at the oracle price (`t.limit` unused); the
/// keeper earns `liquidation_fee_bps` of the notional from what is left of the collateral,
/// topped up by the default fund unless `keeper_is_owner` (an owner liquidating his own
/// bankrupt position would be paid by the fund for his own default); the owner gets the rest.
pub fn apply_liquidation(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    keeper_is_owner: bool,
) -> Result<LiquidationOutcome> {
    let params = &t.market.params;
    {
        let slot = pool.slot(t.market.index)?;
        require!(position.size != 0, PerpError::NotLiquidatable);
        require!(
            below_maintenance(slot, position, params, t.price.price)?,
            PerpError::NotLiquidatable
        );
    }
    let size = position.size;
    let before = (position.size, position.collateral);
    let fee = bps_up_u64(
        position_notional(position, t.price.price)?,
        params.liquidation_fee_bps,
    )?;
    let out = fill(
        pool,
        t.market.index,
        params,
        position,
        -size,
        &t.price,
        t.now,
        Pricing::Liquidation,
        None,
    )?;
    track_imbalance(
        pool,
        t.model,
        t.market,
        -size,
        t.price.price,
        t.now,
        false,
        None,
    )?;
    let from_collateral = fee.min(position.collateral);
    let from_fund = if keeper_is_owner {
        0
    } else {
        (fee - from_collateral).min(pool.default_fund)
    };
    pool.default_fund -= from_fund;
    let returned = position.collateral - from_collateral;
    pool.total_collateral -= position.collateral;
    position.collateral = 0;
    sync_side_collateral(pool, t.market.index, before, position)?;
    Ok(LiquidationOutcome {
        size,
        fill: out,
        keeper_reward: from_collateral + from_fund,
        returned_to_owner: returned,
    })
}

/// What auto-deleveraging did.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeleverageOutcome {
    /// The part closed, signed like the position.
    pub size: i64,
    pub fill: FillOutcome,
    /// Traders' unrealised profit before, and the ceiling it exceeded (quote native).
    pub traders_profit: u128,
    pub ceiling: u128,
    /// The position's whole collateral when the fill emptied it, paid to its owner.
    pub returned_to_owner: u64,
}

/// `deleverage`: while traders' unrealised profit (`traders_profit` over `marks`, every active
/// market at a fresh price) exceeds the pool's ceiling, a share of LP capital, anyone but the
/// owner may close part or all of a position in profit on a side in profit, at the oracle
/// price and priced as the owner's own close would be (close fee, the insurance charge or
/// refund): the winner is paid its PnL in full, the fill is no cheaper than a close, and a
/// position below maintenance is liquidated instead. "In profit" is at the confidence edge worst
/// for the position. It closes at most what brings traders' profit back to the ceiling (each
/// unit closed takes its profit at the edge off traders' profit and its profit at the mid
/// times the ceiling's share off the ceiling; fees, which only raise LP capital, ignored), and
/// the whole position when less than the market's smallest size would remain. A position emptied returns its
/// collateral to its owner.
pub fn apply_deleverage(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    marks: &[Option<Mark>],
    size: u64,
    keeper_is_owner: bool,
) -> Result<DeleverageOutcome> {
    require!(!keeper_is_owner, PerpError::DeleverageOwnPosition);
    require!(size > 0, PerpError::ZeroAmount);
    let profit = traders_profit(pool, marks)?;
    let bps = pool.profit_ceiling_bps() as u128;
    let ceiling = pool.lp_capital as u128 * bps / crate::constants::BPS as u128;
    require!(profit > ceiling, PerpError::ProfitWithinCeiling);
    let params = &t.market.params;
    let index = t.market.index;
    require!(position.size != 0, PerpError::PositionNotInProfit);
    let long = position.size > 0;
    let gain = {
        let slot = pool.slot(index)?;
        require!(
            !below_maintenance(slot, position, params, t.price.price)?,
            PerpError::BelowMaintenanceMargin
        );
        let mark = marks
            .get(index as usize)
            .copied()
            .flatten()
            .ok_or_else(|| error!(PerpError::MarketAccountsMismatch))?;
        let (long_profit, short_profit) = side_profits(slot, &mark)?;
        let side_profit = if long { long_profit } else { short_profit };
        // in profit at the confidence edge worst for it, as traders' profit counts its side
        let (price, conf) = (t.price.price, t.price.conf);
        let edge = if long {
            price.saturating_sub(conf)
        } else {
            price.saturating_add(conf)
        };
        let gain = equity(slot, position, edge)? - position.collateral as i128;
        require!(side_profit > 0 && gain > 0, PerpError::PositionNotInProfit);
        (gain as u128, position_notional(position, conf)?)
    };
    // each whole position closed takes `gain` (at the edge) off traders' profit and pays out
    // up to `gain + spread` (at the mid), taking the ceiling's share of that off the ceiling
    let (gain, spread) = gain;
    let held = position.size.unsigned_abs();
    let bps_scale = crate::constants::BPS as u128;
    let net = gain
        .saturating_mul(bps_scale - bps)
        .saturating_sub(spread.saturating_mul(bps));
    let needed = if net == 0 {
        u128::MAX
    } else {
        keel_math::wide::mul_div_u128(
            (profit - ceiling).saturating_mul(held as u128),
            bps_scale,
            net,
            keel_math::Rounding::Up,
        )
        .unwrap_or(u128::MAX)
    };
    let mut closed = (size as u128).min(held as u128).min(needed) as u64;
    // what remains must not be dust (size or notional): else the whole position goes
    let left_notional = crate::math::notional(
        (held - closed) as i128,
        t.price.price,
        keel_math::Rounding::Down,
    )?;
    if held - closed < params.min_position_size
        || left_notional < params.min_position_notional as i128
    {
        closed = held;
    }
    let fill_size = if long {
        -(closed as i64)
    } else {
        closed as i64
    };
    let before = (position.size, position.collateral);
    let out = fill(
        pool,
        index,
        params,
        position,
        fill_size,
        &t.price,
        t.now,
        Pricing::Market {
            limit: if long { Fix::ZERO } else { Fix::MAX },
            fee_bps: params.close_fee_bps,
        },
        t.model,
    )?;
    track_imbalance(
        pool,
        t.model,
        t.market,
        fill_size,
        t.price.price,
        t.now,
        false,
        out.effect,
    )?;
    let returned = if position.size == 0 {
        let all = position.collateral;
        pool.total_collateral -= all;
        position.collateral = 0;
        all
    } else {
        0
    };
    sync_side_collateral(pool, index, before, position)?;
    Ok(DeleverageOutcome {
        size: -fill_size,
        fill: out,
        traders_profit: profit,
        ceiling,
        returned_to_owner: returned,
    })
}

/// What a reduction before a close did.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloseReductionOutcome {
    /// The part closed, signed like the position.
    pub size: i64,
    pub fill: FillOutcome,
    /// Notional / equity before and after, hundredths (`u64::MAX`: no equity left).
    pub leverage_e2_before: u64,
    pub leverage_e2_after: u64,
    /// The position's whole collateral when the reduction closed it, paid to its owner.
    pub returned_to_owner: u64,
    /// Fills it took (more than one when an insurance charge outran the 1 % margin).
    pub fills: u8,
}

/// Notional / equity at `price`, in hundredths (`u64::MAX` without equity).
pub fn leverage_e2(
    slot: &crate::state::MarketSlot,
    position: &Position,
    price: Fix,
) -> Result<u64> {
    let eq = equity(slot, position, price)?;
    if eq <= 0 {
        return Ok(u64::MAX);
    }
    let notional = position_notional(position, price)?;
    Ok(u64::try_from(notional.saturating_mul(100).div_ceil(eq as u128)).unwrap_or(u64::MAX))
}

/// `reduce_before_close`: in the hour before a long close, a position above the leverage it
/// may hold over the close (`leverage`, the market's `leverage_over_close`) is cut, at the
/// oracle price and priced as the owner's own reduction (close fee and half-spread, the
/// insurance charge or refund), down to 99 % of that leverage after its cost: the notional x
/// closed solves N − x = 0.99·L·(E − c·x), c the cost per unit of notional, rounded up to whole
/// base units. The first cut takes c as the fee and the half-spread; an insurance charge the
/// 1 % does not cover leaves the position above, and the next cut takes c as the cost the last
/// one actually had (at most [`CLOSE_CUT_PASSES`] cuts; still above after them, it stays for
/// the next call rather than being closed whole). What would be left as dust, or a cut its
/// cost could never bring under (0.99·L·c ≥ 1), closes the whole position and pays its
/// collateral to its owner. A position below maintenance is the liquidator's.
pub fn apply_reduce_before_close(
    pool: &mut Pool,
    position: &mut Position,
    t: &TradeInput,
    leverage: u32,
) -> Result<CloseReductionOutcome> {
    let params = &t.market.params;
    let index = t.market.index;
    let price = t.price.price;
    require!(position.size != 0, PerpError::WithinCloseLeverage);
    {
        let slot = pool.slot(index)?;
        require!(
            !below_maintenance(slot, position, params, price)?,
            PerpError::BelowMaintenanceMargin
        );
    }
    require!(
        above_leverage(pool.slot(index)?, position, leverage, price)?,
        PerpError::WithinCloseLeverage
    );
    let size_before = position.size;
    let leverage_e2_before = leverage_e2(pool.slot(index)?, position, price)?;
    let before = (position.size, position.collateral);
    let mut total = FillOutcome::default();
    let mut fills = 0u8;
    // the cost per unit of notional a cut is sized for (1e9): fee and half-spread, then what
    // the last cut actually cost when that was more
    let base_cost = (params.close_fee_bps as u64)
        .saturating_mul(crate::constants::E9 / crate::constants::BPS)
        .saturating_add(params.half_spread_e9);
    let mut cost_e9 = base_cost;
    for _ in 0..CLOSE_CUT_PASSES {
        fills += 1;
        let (cut, cut_notional) = close_cut(
            pool.slot(index)?,
            position,
            params,
            leverage,
            price,
            cost_e9,
        )?;
        let equity_before = equity(pool.slot(index)?, position, price)?;
        let long = position.size > 0;
        let fill_size = if long { -(cut as i64) } else { cut as i64 };
        let out = fill(
            pool,
            index,
            params,
            position,
            fill_size,
            &t.price,
            t.now,
            Pricing::Market {
                limit: if long { Fix::ZERO } else { Fix::MAX },
                fee_bps: params.close_fee_bps,
            },
            t.model,
        )?;
        track_imbalance(
            pool, t.model, t.market, fill_size, price, t.now, false, out.effect,
        )?;
        total.absorb(&out);
        if position.size == 0 || !above_leverage(pool.slot(index)?, position, leverage, price)? {
            break;
        }
        // what this cut cost per unit of notional, rounded up
        let spent = equity_before - equity(pool.slot(index)?, position, price)?;
        if spent > 0 && cut_notional > 0 {
            let observed = keel_math::wide::mul_div_u128(
                spent as u128,
                crate::constants::E9 as u128,
                cut_notional,
                keel_math::Rounding::Up,
            )
            .map_or(u64::MAX, |c| u64::try_from(c).unwrap_or(u64::MAX));
            cost_e9 = cost_e9.max(observed);
        }
    }
    let (returned, leverage_e2_after) = if position.size == 0 {
        let all = position.collateral;
        pool.total_collateral = pool
            .total_collateral
            .checked_sub(all)
            .ok_or_else(|| error!(PerpError::MathOverflow))?;
        position.collateral = 0;
        (all, 0)
    } else {
        (0, leverage_e2(pool.slot(index)?, position, price)?)
    };
    sync_side_collateral(pool, index, before, position)?;
    Ok(CloseReductionOutcome {
        size: size_before - position.size,
        fill: total,
        leverage_e2_before,
        leverage_e2_after,
        returned_to_owner: returned,
        fills,
    })
}

/// Cuts `reduce_before_close` may make in one call.
pub const CLOSE_CUT_PASSES: u32 = 3;

/// Notional above `leverage` × equity at `price` (no equity: above any).
fn above_leverage(
    slot: &crate::state::MarketSlot,
    position: &Position,
    leverage: u32,
    price: Fix,
) -> Result<bool> {
    let eq = equity(slot, position, price)?;
    Ok(eq <= 0
        || position_notional(position, price)? > (eq as u128).saturating_mul(leverage as u128))
}

/// Base units to cut, and their notional, so that what is left sits at 99 % of `leverage`
/// after a cost of `cost_e9` per unit of notional (see [`apply_reduce_before_close`]); the
/// whole position when dust would remain.
fn close_cut(
    slot: &crate::state::MarketSlot,
    position: &Position,
    params: &crate::state::MarketParams,
    leverage: u32,
    price: Fix,
    cost_e9: u64,
) -> Result<(u64, u128)> {
    let held = position.size.unsigned_abs();
    let notional = position_notional(position, price)?;
    let eq = equity(slot, position, price)?.max(0) as u128;
    let leverage = leverage as u128;
    // x ≥ (N − 0.99·L·E) / (1 − 0.99·L·c) = 10⁹·(100·N − 99·L·E) / (100·10⁹ − 99·L·c_e9)
    let scale = crate::constants::E9 as u128;
    let cost_term = (99 * leverage).saturating_mul(cost_e9 as u128);
    let excess = (100 * notional).saturating_sub(99 * leverage * eq);
    let cut_notional = if cost_term >= 100 * scale || eq == 0 {
        None
    } else {
        keel_math::wide::mul_div_u128(
            excess,
            scale,
            100 * scale - cost_term,
            keel_math::Rounding::Up,
        )
        .ok()
    };
    let mut cut = match cut_notional {
        Some(x) => {
            keel_math::wide::mul_div_u128(x, held as u128, notional, keel_math::Rounding::Up)
                .map_or(held, |c| c.min(held as u128) as u64)
        }
        None => held,
    };
    let left_notional =
        crate::math::notional((held - cut) as i128, price, keel_math::Rounding::Down)?;
    if held - cut < params.min_position_size || left_notional < params.min_position_notional as i128
    {
        cut = held;
    }
    let cut_value = keel_math::wide::mul_div_u128(
        notional,
        cut as u128,
        held as u128,
        keel_math::Rounding::Down,
    )
    .unwrap_or(notional);
    Ok((cut, cut_value))
}

/// Opens and increases need the market in the model: exposure it cannot see, it cannot limit.
pub fn require_covered(model: Option<&RiskModel>, market: &Market) -> Result<()> {
    if let Some(model) = model {
        require!(
            market.index < model.market_count,
            PerpError::MarketNotInRiskModel
        );
    }
    Ok(())
}

/// Move the pool's Imbalance Score for a fill of `size` (after the fill has updated the OI);
/// for opens and increases (`limited`), refuse one that raises IS above the pool's cap.
pub fn track_imbalance(
    pool: &mut Pool,
    model: Option<&RiskModel>,
    market: &Market,
    size: i64,
    price: keel_math::Fix,
    now: i64,
    limited: bool,
    priced: Option<crate::risk::Effect>,
) -> Result<()> {
    let Some(model) = model else {
        return Ok(());
    };
    let change = crate::risk::record_fill(pool, model, market.index, size, price, now, priced)?;
    if limited {
        crate::risk::check_imbalance_limit(pool, &change)?;
    }
    Ok(())
}

/// What an open, increase or decrease leaves must not be dust: at least `min_position_size`
/// base units and `min_position_notional` at the fill's price (a close leaves nothing).
pub fn require_not_dust(
    position: &Position,
    p: &crate::state::MarketParams,
    price: keel_math::Fix,
) -> Result<()> {
    require!(
        position.size.unsigned_abs() >= p.min_position_size
            && (p.min_position_notional == 0
                || crate::engine::position_notional(position, price)?
                    >= p.min_position_notional as u128),
        PerpError::DustPosition
    );
    Ok(())
}

/// After an increase: size not dust, OI caps, initial margin at `max_leverage`.
pub fn check_after_increase(
    pool: &Pool,
    market: &Market,
    position: &Position,
    price: keel_math::Fix,
    max_leverage: u32,
) -> Result<()> {
    let p = &market.params;
    require_not_dust(position, p, price)?;
    let slot = pool.slot(market.index)?;
    require!(
        slot.long_oi <= p.max_long_oi && slot.short_oi <= p.max_short_oi,
        PerpError::OpenInterestCap
    );
    check_initial_margin(slot, position, max_leverage, price)
}
