use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::d8x::CapitalFactors;

use crate::constants::{INCOME_PRICING_INTERVAL_SECS, MAX_MARKETS};
use crate::errors::PerpError;
use crate::state::RequestParams;
use keel_onchain::WrappedI128;

/// Pause switches, one bit per instruction group.
pub mod pause {
    pub const LP: u8 = 1 << 0;
    pub const OPEN: u8 = 1 << 1;
    pub const CLOSE: u8 = 1 << 2;
    pub const LIQUIDATE: u8 = 1 << 3;
    pub const FUNDING: u8 = 1 << 4;
    pub const ALL: u8 = LP | OPEN | CLOSE | LIQUIDATE | FUNDING;
}

/// The counterparty pool: its vault, LP mint, accounting and the aggregates of every market.
///
/// Money in the vault is split five ways and the vault always holds exactly their sum:
/// `lp_capital` (owned by LPs, the counterparty to every trade), `default_fund` (absorbs bad
/// debt before LPs), `total_collateral` (traders' margin, Σ position.collateral),
/// `request_escrow` (what pending requests hold, Σ request.escrow) and the markets'
/// `premium_balances` (premiums paid and not yet rebated or released to LPs).
#[account(zero_copy)]
#[repr(C)]
pub struct Pool {
    pub version: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub lp_mint_bump: u8,
    pub quote_decimals: u8,
    pub market_count: u8,
    /// [`pause`] bits.
    pub paused: u8,
    pub lp_escrow_bump: u8,
    pub pool_id: u64,
    pub authority: Pubkey,
    /// Two-step transfer: the proposed authority, default when none.
    pub pending_authority: Pubkey,
    /// Signs push-oracle updates (localnet, tests, sandbox).
    pub oracle_authority: Pubkey,
    pub quote_mint: Pubkey,
    pub vault: Pubkey,
    pub lp_mint: Pubkey,

    pub lp_capital: u64,
    pub default_fund: u64,
    pub total_collateral: u64,
    /// LP shares locked by the first deposit (never redeemable).
    pub dead_shares: u64,

    /// Share of trading fees that goes to LP capital; the rest feeds the default fund.
    pub lp_fee_share_bps: u64,
    /// The default probability q* that reserves are sized for (1e9 scale).
    pub target_default_prob_e9: u64,
    /// Φ⁻¹(q*) (Fix bits, negative): computed once at init so reserves need only an exp.
    pub distance_to_default: WrappedI128,
    /// Smallest LP deposit, quote native units.
    pub min_deposit: u64,
    /// Quote tokens in the vault that pending requests escrow (an open's collateral, a
    /// deposit): neither LP capital nor margin until a keeper executes the request.
    pub request_escrow: u64,
    /// Requests ([`RequestParams`]): a market request's execution window, the delay before a
    /// withdrawal request may execute, and the smallest keeper fee a request carries.
    pub order_window_secs: u32,
    pub withdrawal_delay_secs: u32,
    pub min_keeper_fee_lamports: u64,
    /// The token account holding pending withdrawals' LP shares (PDA [LP_ESCROW_SEED, pool]).
    pub lp_escrow: Pubkey,

    pub markets: [MarketSlot; MAX_MARKETS],
    pub risk: PoolRisk,
    /// Per market: premiums paid and refundable, Σ position.premium_paid over its positions.
    /// Rebates are paid from here only (each out of its own position's premiums), never from
    /// LP capital; a closed position's unused premium goes to LP capital.
    pub premium_balances: [u64; MAX_MARKETS],
    /// LP income booked by fills (the LP share of fees, funding, released premiums) since it last
    /// became capital ([`Pool::price_income`]). Pricing leaves it out of the capital at risk, so
    /// a trade's own fees cannot cheapen its later pieces (see [`Pool::pricing_capital`]).
    pub unpriced_income: u64,
    /// Two-step rotation of `oracle_authority`: the proposed key, default when none.
    pub pending_oracle_authority: Pubkey,
    /// Per market, Σ collateral of its open positions on each side, [long, short]: what LP
    /// valuation may count of that side's losses (one trader's bad debt is not another's
    /// collateral). Parked payouts on empty positions are on no side.
    pub side_collateral: [[u64; 2]; MAX_MARKETS],
    /// Auto-deleveraging's ceiling: while traders' unrealised profit
    /// ([`crate::engine::traders_profit`]) exceeds this share of LP capital (bps), a keeper may
    /// close winners at the oracle price (0 in a pool created before it: the default).
    pub max_trader_profit_bps: u32,
    pub _pad_ceiling: u32,
    /// When closing was last unpaused: an announced market change needs a full notice after it.
    pub close_resumed_at: i64,
    /// When `unpriced_income` last became pricing capital ([`Pool::price_income`]).
    pub income_priced_at: i64,
    /// An announced change of the premium mode or horizon (they set what every reduction is
    /// charged or refunded), applied by anyone once due.
    pub pending_premium: PendingPremiumChange,
    /// The pool's market-hours calendar ([`crate::state::Calendar`]); default until the first
    /// schedule is set, when every market is always open.
    pub calendar: Pubkey,
    pub reserved: [u8; 24],
}

/// A premium mode or horizon change waiting its notice; `effective_at` 0 when none is pending.
#[zero_copy]
#[repr(C)]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct PendingPremiumChange {
    pub effective_at: i64,
    pub horizon_secs: u32,
    /// A [`premium_mode`] constant.
    pub mode: u8,
    pub _pad: [u8; 3],
}

impl PendingPremiumChange {
    pub fn is_pending(&self) -> bool {
        self.effective_at != 0
    }
}

/// How fills are priced.
pub mod premium_mode {
    /// D8X: q from each market's own default probability (its share of capital, its skew).
    pub const PER_MARKET: u8 = 0;
    /// q from the whole pool's default probability: a Gaussian PnL with standard deviation
    /// IS·√h against the pool's capital, so a trade's premium reflects its correlation with
    /// the rest of the book.
    pub const PORTFOLIO: u8 = 1;
}

/// The pool's Imbalance Score, kept on every fill (see `keel_math::imbalance_book`).
///
/// K_i = B_i·σ_i per covered market, in 10^-3 quote tokens, with B_i the market's net open
/// interest marked at its oracle price at its last fill (or at the last `refresh_imbalance`,
/// which re-marks every market). T = 1e9·Kᵀ R K and Σ K² are exact integers, updated in O(n)
/// per fill, so they always equal a fresh evaluation of the stored K.
#[zero_copy]
#[repr(C)]
pub struct PoolRisk {
    /// The pool's risk model; default when the pool has none (no IS, no limit).
    pub model: Pubkey,
    /// The model revision the stored K and T were computed with; a newer commit makes the next
    /// fill (or refresh) recompute them.
    pub revision: u64,
    /// T = 1e9 · Kᵀ R K (i128) and Σ K² (u128 as i128).
    pub imbalance_sq: WrappedI128,
    pub exposure_sq: WrappedI128,
    /// IS = √(Kᵀ R K) and ||K||, 10^-3 quote tokens, rounded up.
    pub imbalance_score: u64,
    pub exposure_norm: u64,
    /// When IS was last changed by a fill or a refresh.
    pub updated_ts: i64,
    /// Opens and increases that raise IS may not take it above this share of LP capital (bps).
    pub max_imbalance_bps: u32,
    /// Markets 0..covered are in the stored IS (the model's market count at `revision`).
    pub covered: u8,
    /// A [`premium_mode`] constant.
    pub premium_mode: u8,
    pub _pad: [u8; 2],
    /// √h of the portfolio premium's horizon h in days, 1e9 scale.
    pub premium_sqrt_horizon_e9: u64,
    pub premium_horizon_secs: u32,
    pub _pad2: u32,
}

/// Per-market aggregates kept in the pool, so pool-wide value and risk need no market accounts.
#[zero_copy]
#[repr(C)]
pub struct MarketSlot {
    /// The market account; default when the slot is empty.
    pub market: Pubkey,
    /// The oracle account the market reads.
    pub oracle: Pubkey,
    /// Open interest in base native units.
    pub long_oi: u64,
    pub short_oi: u64,
    /// Σ entry notionals (quote native) of longs and of shorts (positive numbers).
    pub long_entry: u64,
    pub short_entry: u64,
    /// Cumulative funding paid per base native unit by each side (Fix bits, quote native).
    pub long_funding_index: WrappedI128,
    pub short_funding_index: WrappedI128,
    /// Σ |size|·(funding index at the position's last settlement), per side (Fix bits), so that
    /// funding accrued but not yet settled is index·oi − snapshot_sum.
    pub long_funding_snap_sum: WrappedI128,
    pub short_funding_snap_sum: WrappedI128,
    pub last_funding_ts: i64,
    /// Copies of the market's risk parameters needed pool-wide (1e9 scale).
    pub capital_share_e9: u64,
    pub sigma_e9: u64,
    pub active: u8,
    /// Copies of the market's oracle settings, so LP valuation reads prices from the pool alone
    /// (as an [`crate::state::OracleKind`] discriminant).
    pub oracle_kind: u8,
    pub base_decimals: u8,
    /// Copies of the market's schedule index (0: always open) and gap allowance (hundredths of
    /// σ per √day closed), so LP valuation values a closed market from the pool alone.
    pub schedule: u8,
    pub gap_sigmas_e2: u16,
    pub _pad: [u8; 2],
    pub max_age_open_secs: u32,
    pub max_conf_bps: u32,
    /// The σ- and q*-dependent factors of the reserve M* (keel-math `CapitalFactors`, Q64.64
    /// bits), computed when σ is set so that a withdrawal sizes each market's reserve with one
    /// product instead of an exp.
    pub reserve_growth: WrappedI128,
    pub reserve_shrink: WrappedI128,
    /// B: net open interest marked at the oracle price of the market's last fill (or refresh),
    /// quote native, rounded away from zero.
    pub risk_notional: i64,
    /// K = B·σ under the pool's risk model at `PoolRisk::revision`, 10^-3 quote tokens.
    pub risk_exposure: i64,
    /// Publish time of the newest price a fill, liquidation or LP execution has used: no later
    /// one may use an older price, so a keeper cannot pick among past prints.
    pub last_price_ts: i64,
}

const _: () = assert!(core::mem::size_of::<MarketSlot>() == 256);
const _: () = assert!(core::mem::size_of::<PoolRisk>() == 120);
const _: () = assert!(core::mem::size_of::<Pool>() == 9552);

impl Pool {
    pub const SIZE: usize = 8 + core::mem::size_of::<Pool>();

    pub fn is_paused(&self, group: u8) -> bool {
        self.paused & group != 0
    }

    pub fn require_not_paused(&self, group: u8) -> Result<()> {
        require!(!self.is_paused(group), PerpError::Paused);
        Ok(())
    }

    /// An announced change (market or premium) due at `due` (its notice over, in the open time
    /// of the markets it touches: `Calendar::notice_due`) may apply at `now`: its notice runs
    /// while traders can act on it, so not while closing is paused and a full notice again from
    /// when closing resumed; and within its window after it is due (from the due time, so a
    /// long holiday cannot let it expire before it may apply).
    pub fn require_change_due(&self, due: i64, now: i64) -> Result<()> {
        use crate::state::{MARKET_CHANGE_APPLY_WINDOW_SECS, MARKET_CHANGE_NOTICE_SECS};
        self.require_not_paused(pause::CLOSE)?;
        require!(
            now >= due
                && now
                    >= self
                        .close_resumed_at
                        .saturating_add(MARKET_CHANGE_NOTICE_SECS),
            PerpError::ChangeNotDue
        );
        require!(
            now <= due + MARKET_CHANGE_APPLY_WINDOW_SECS,
            PerpError::ChangeExpired
        );
        Ok(())
    }

    /// The schedule of every active market that keeps hours (repeats included).
    pub fn schedules(&self) -> impl Iterator<Item = u8> + '_ {
        self.markets
            .iter()
            .filter(|slot| slot.active == 1 && slot.schedule != 0)
            .map(|slot| slot.schedule)
    }

    /// Whether any position is open in any market.
    pub fn has_open_interest(&self) -> bool {
        self.markets
            .iter()
            .any(|slot| slot.long_oi != 0 || slot.short_oi != 0)
    }

    pub fn set_request_params(&mut self, p: &RequestParams) -> Result<()> {
        p.validate()?;
        self.order_window_secs = p.order_window_secs;
        self.withdrawal_delay_secs = p.withdrawal_delay_secs;
        self.min_keeper_fee_lamports = p.min_keeper_fee_lamports;
        Ok(())
    }

    /// LP capital as premiums price it: without the income booked since the last LP execution
    /// or refresh. Realised PnL stays in (it moves capital and the book's unrealised PnL by the
    /// same amount), so at a fixed price a trade's charge does not depend on how it is split.
    pub fn pricing_capital(&self) -> u64 {
        self.lp_capital.saturating_sub(self.unpriced_income)
    }

    /// Let the income booked so far count as pricing capital, at an LP execution or a refresh
    /// and at most once an hour: a trader splitting a trade could otherwise call the
    /// permissionless refresh between his pieces so that his own fees cheapen the next one.
    pub fn price_income(&mut self, now: i64) {
        if now
            >= self
                .income_priced_at
                .saturating_add(INCOME_PRICING_INTERVAL_SECS)
        {
            self.unpriced_income = 0;
            self.income_priced_at = now;
        }
    }

    /// Book LP income that pricing should not see until the next LP execution or refresh.
    pub fn book_income(&mut self, amount: u64) {
        self.unpriced_income = self.unpriced_income.saturating_add(amount);
    }

    /// The auto-deleveraging ceiling in force (bps of LP capital).
    pub fn profit_ceiling_bps(&self) -> u32 {
        match self.max_trader_profit_bps {
            0 => crate::constants::DEFAULT_PROFIT_CEILING_BPS,
            bps => bps,
        }
    }

    /// Σ premium balances (quote native).
    pub fn premium_total(&self) -> u128 {
        self.premium_balances.iter().map(|&b| b as u128).sum()
    }

    pub fn distance_to_default(&self) -> Fix {
        self.distance_to_default.fix()
    }

    /// Total LP shares for pricing: the mint's supply plus the locked dead shares.
    pub fn total_shares(&self, mint_supply: u64) -> u128 {
        mint_supply as u128 + self.dead_shares as u128
    }

    pub fn slot(&self, index: u8) -> Result<&MarketSlot> {
        self.markets
            .get(index as usize)
            .ok_or_else(|| error!(PerpError::WrongMarket))
    }

    pub fn slot_mut(&mut self, index: u8) -> Result<&mut MarketSlot> {
        self.markets
            .get_mut(index as usize)
            .ok_or_else(|| error!(PerpError::WrongMarket))
    }
}

impl MarketSlot {
    /// The kind of oracle account the slot's market reads.
    pub fn oracle_kind(&self) -> crate::state::OracleKind {
        crate::state::OracleKind::from_u8(self.oracle_kind)
    }

    /// How LP valuation checks this slot's price: the market's risk-increasing rules.
    pub fn mark_limits(&self, quote_decimals: u8) -> crate::state::MarkLimits {
        crate::state::MarkLimits {
            max_age_secs: self.max_age_open_secs,
            max_conf_bps: self.max_conf_bps as u64,
            decimals_shift: quote_decimals as i32 - self.base_decimals as i32,
        }
    }

    /// Copy the settings of `market` that pool-wide computations need, and the reserve factors
    /// for its σ at the pool's distance to default.
    pub fn sync_from(
        &mut self,
        market: &crate::state::Market,
        distance_to_default: Fix,
    ) -> Result<()> {
        let factors = CapitalFactors::new(
            crate::math::fix_e9(market.params.sigma_e9),
            distance_to_default,
        )
        .map_err(|e| error!(PerpError::from(e)))?;
        self.reserve_growth.set(factors.growth);
        self.reserve_shrink.set(factors.shrink);
        self.oracle = market.oracle;
        self.capital_share_e9 = market.params.capital_share_e9;
        self.sigma_e9 = market.params.sigma_e9;
        self.oracle_kind = market.oracle_kind as u8;
        self.base_decimals = market.base_decimals;
        self.max_age_open_secs = market.params.max_age_open_secs;
        self.max_conf_bps = market.params.max_conf_bps;
        self.schedule = market.params.schedule;
        self.gap_sigmas_e2 = market.params.gap_sigmas_e2;
        Ok(())
    }

    /// Use a price published at `publish_time`: never older than the newest one this market
    /// has used.
    pub fn use_price(&mut self, publish_time: i64) -> Result<()> {
        require!(
            publish_time >= self.last_price_ts,
            PerpError::PriceOlderThanMarket
        );
        self.last_price_ts = publish_time;
        Ok(())
    }

    pub fn capital_factors(&self) -> CapitalFactors {
        CapitalFactors {
            growth: self.reserve_growth.get(),
            shrink: self.reserve_shrink.get(),
        }
    }

    /// Traders' net position K (base native, > 0: net long).
    pub fn net_position(&self) -> i128 {
        self.long_oi as i128 - self.short_oi as i128
    }

    /// Traders' locked-in value L (quote native, signed like K).
    pub fn locked_value(&self) -> i128 {
        self.long_entry as i128 - self.short_entry as i128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{MARKET_CHANGE_APPLY_WINDOW_SECS, MARKET_CHANGE_NOTICE_SECS};

    /// An announced change applies from its due time (open-time notice included) for its
    /// window, counted from the due time: a change due late after a long closure does not
    /// expire before it may apply (an auditor's finding).
    #[test]
    fn a_change_applies_within_its_window_from_when_it_is_due() {
        let pool: Pool = bytemuck::Zeroable::zeroed();
        let due = 10 * MARKET_CHANGE_NOTICE_SECS;
        let code = |r: Result<()>| match r {
            Ok(()) => None,
            Err(anchor_lang::error::Error::AnchorError(e)) => Some(e.error_code_number),
            Err(e) => panic!("{e}"),
        };
        let n = |e: PerpError| Some(anchor_lang::error::ERROR_CODE_OFFSET + e as u32);
        assert_eq!(
            code(pool.require_change_due(due, due - 1)),
            n(PerpError::ChangeNotDue)
        );
        assert_eq!(code(pool.require_change_due(due, due)), None);
        let last = due + MARKET_CHANGE_APPLY_WINDOW_SECS;
        assert_eq!(code(pool.require_change_due(due, last)), None);
        assert_eq!(
            code(pool.require_change_due(due, last + 1)),
            n(PerpError::ChangeExpired)
        );
    }
}
