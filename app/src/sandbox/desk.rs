//! What the sandbox and scenarios do on chain, one method per action, each logged: trades
//! (quoted with the program's own code, sent, and checked against the chain), liquidations,
//! LP flows, the keepers' chores and the day's balance line.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, bail};
use perp_amm::instructions::{
    DecreasePositionArgs, DepositArgs, IncreasePositionArgs, OpenPositionArgs, WithdrawArgs,
};

use crate::client::perp as ix;
use crate::client::quote::{QuotedState, Refusal, TradeAction, pool_value, quote_trade};
use crate::sandbox::events::{Event, What};
use crate::sandbox::world::{Actor, USD, World};
use crate::transport::Transport;

/// An LP and its LP-token account.
pub struct Lp {
    pub actor: Actor,
    pub lp_account: Pubkey,
}

pub struct Desk {
    pub world: World,
    pub events: Vec<Event>,
    pub day: u32,
    pub date: String,
    /// The liquidation keeper.
    pub keeper: Actor,
}

fn tx(what: &'static str) -> impl Fn(crate::transport::TxError) -> anyhow::Error {
    move |e| anyhow::anyhow!("{what}: {e}")
}

fn action_name(action: &TradeAction) -> &'static str {
    match action {
        TradeAction::Open { .. } => "open",
        TradeAction::Increase { .. } => "increase",
        TradeAction::Decrease { .. } => "decrease",
        TradeAction::Close => "close",
        TradeAction::Liquidate => "liquidate",
    }
}

impl Desk {
    pub fn new(mut world: World, date: String) -> anyhow::Result<Self> {
        let keeper = world.actor("keeper", 0)?;
        Ok(Desk {
            world,
            events: vec![],
            day: 0,
            date,
            keeper,
        })
    }

    pub fn log(&mut self, what: What) {
        self.events.push(Event {
            day: self.day,
            date: self.date.clone(),
            what,
        });
    }

    /// Start a day: the clock, every market's price, funding accrued on every market.
    pub fn begin_day(
        &mut self,
        day: u32,
        date: &str,
        now: i64,
        prices: &[f64],
    ) -> anyhow::Result<()> {
        self.day = day;
        self.date = date.to_string();
        self.world.set_time(now);
        self.world.push_prices(prices)?;
        let pool = self.world.pool;
        let ixs: Vec<_> = self
            .world
            .markets
            .iter()
            .map(|m| ix::update_funding(&pool, &m.key, &m.oracle))
            .collect();
        self.world
            .chain
            .send(&ixs, &[])
            .map_err(tx("update_funding"))
    }

    pub fn refresh_imbalance(&mut self) -> anyhow::Result<()> {
        let ix = ix::refresh_imbalance(&self.world.pool, &self.world.oracles());
        self.world
            .chain
            .send(&[ix], &[])
            .map_err(tx("refresh_imbalance"))
    }

    pub fn fund_default_fund(&mut self, amount: u64) -> anyhow::Result<()> {
        if amount == 0 {
            return Ok(());
        }
        let funder = self.world.actor("default-fund", amount)?;
        let pool = self.world.pool;
        self.world
            .chain
            .send(
                &[ix::fund_default_fund(
                    &funder.key(),
                    &pool,
                    &funder.quote,
                    amount,
                )],
                &[&funder.kp],
            )
            .map_err(tx("fund_default_fund"))
    }

    /// An LP with its LP-token account and `quote` native units.
    pub fn lp(&mut self, name: &str, quote: u64) -> anyhow::Result<Lp> {
        let actor = self.world.actor(name, quote)?;
        let lp_mint = self.world.lp_mint;
        let lp_account = self.world.token_account(&lp_mint, &actor.key())?;
        Ok(Lp { actor, lp_account })
    }

    /// Deposit; a refusal is logged and returns false.
    pub fn deposit(&mut self, lp: &Lp, amount: u64) -> anyhow::Result<bool> {
        let before = self.world.balance(&lp.lp_account)?;
        let ix = ix::deposit(
            &lp.actor.key(),
            &self.world.pool,
            &lp.actor.quote,
            &lp.lp_account,
            &self.world.oracles(),
            DepositArgs {
                amount,
                min_shares: 0,
            },
        );
        if let Err(e) = self.world.chain.send(&[ix], &[&lp.actor.kp]) {
            self.refused(&lp.actor.name, "-", "deposit", e);
            return Ok(false);
        }
        let shares = self.world.balance(&lp.lp_account)? - before;
        self.log(What::LpDeposit {
            lp: lp.actor.name.clone(),
            amount,
            shares,
        });
        Ok(true)
    }

    /// Withdraw `shares`; a refusal is logged and returns false.
    pub fn withdraw(&mut self, lp: &Lp, shares: u64) -> anyhow::Result<bool> {
        let before = self.world.balance(&lp.actor.quote)?;
        let ix = ix::withdraw(
            &lp.actor.key(),
            &self.world.pool,
            &lp.actor.quote,
            &lp.lp_account,
            &self.world.oracles(),
            WithdrawArgs {
                shares,
                min_amount: 0,
            },
        );
        if let Err(e) = self.world.chain.send(&[ix], &[&lp.actor.kp]) {
            self.refused(&lp.actor.name, "-", "withdraw", e);
            return Ok(false);
        }
        let amount = self.world.balance(&lp.actor.quote)? - before;
        self.log(What::LpWithdraw {
            lp: lp.actor.name.clone(),
            shares,
            amount,
        });
        Ok(true)
    }

    /// Log a perp-amm instruction the program refused, with its error's name.
    fn refused(&mut self, who: &str, market: &str, action: &str, e: crate::transport::TxError) {
        let error = e
            .code()
            .and_then(|c| crate::client::errors::error_name(&perp_amm::ID, c))
            .unwrap_or_else(|| e.to_string());
        self.log(What::Refused {
            trader: who.to_string(),
            market: market.to_string(),
            action: action.to_string(),
            code: e.code(),
            error,
        });
    }

    /// After a trade: the chain's position and pool equal what the quote computed.
    fn check(&mut self, market: usize, owner: &Pubkey, q: &QuotedState) -> anyhow::Result<()> {
        let pool = self.world.pool_state()?;
        let position = self.world.position(market, owner)?;
        let got = position
            .map(|p| (p.size, p.collateral, p.entry_notional))
            .unwrap_or((0, 0, 0));
        let expected = (
            q.quote.position_size,
            q.quote.position_collateral,
            q.quote.position_entry_notional,
        );
        let pool_got = (
            pool.lp_capital,
            pool.default_fund,
            pool.total_collateral,
            pool.risk.imbalance_score,
        );
        let pool_expected = (
            q.pool.lp_capital,
            q.pool.default_fund,
            q.pool.total_collateral,
            q.pool.risk.imbalance_score,
        );
        if got != expected || pool_got != pool_expected {
            bail!(
                "{}: the chain differs from the quote on market {market}: position {got:?} vs \
                 {expected:?}, pool {pool_got:?} vs {pool_expected:?}",
                self.date
            );
        }
        Ok(())
    }

    /// Quote, send and check one trade by `actor` on `market`. A trade the program would refuse
    /// is logged with its error and returned as `Err(refusal)`; one the quote accepts must land
    /// exactly as quoted, or this fails.
    pub fn trade(
        &mut self,
        actor: &Actor,
        market: usize,
        action: TradeAction,
    ) -> anyhow::Result<Result<QuotedState, Refusal>> {
        let owner = actor.key();
        let view = self.world.trade_view(market, &owner)?;
        let symbol = self.world.markets[market].symbol.clone();
        let label = action_name(&action);
        let limit_for = |buy: bool| if buy { u64::MAX } else { 0 };
        let long = view.position.as_ref().is_some_and(|p| p.size > 0);
        let limit = match action {
            TradeAction::Open { size, .. } | TradeAction::Increase { size, .. } => {
                limit_for(size > 0)
            }
            _ => limit_for(!long),
        };
        let q = match quote_trade(&view, &owner, action, limit, self.world.now) {
            Ok(q) => q,
            Err(r) => {
                self.log(What::Refused {
                    trader: actor.name.clone(),
                    market: symbol,
                    action: label.into(),
                    code: r.code,
                    error: r.name.clone(),
                });
                return Ok(Err(r));
            }
        };
        let (pool, mk) = (self.world.pool, &self.world.markets[market]);
        let rm = Some(self.world.risk_model);
        let ix = match action {
            TradeAction::Open { size, collateral } => ix::open_position(
                &owner,
                &pool,
                &mk.key,
                &mk.oracle,
                &actor.quote,
                OpenPositionArgs {
                    size,
                    collateral,
                    price_limit_e9: limit,
                },
                rm,
            ),
            TradeAction::Increase { size, collateral } => ix::increase_position(
                &owner,
                &pool,
                &mk.key,
                &mk.oracle,
                &actor.quote,
                IncreasePositionArgs {
                    size,
                    collateral,
                    price_limit_e9: limit,
                },
                rm,
            ),
            TradeAction::Decrease { size } => ix::decrease_position(
                &owner,
                &pool,
                &mk.key,
                &mk.oracle,
                &actor.quote,
                DecreasePositionArgs {
                    size,
                    price_limit_e9: limit,
                },
                rm,
            ),
            TradeAction::Close => {
                ix::close_position(&owner, &pool, &mk.key, &mk.oracle, &actor.quote, limit, rm)
            }
            TradeAction::Liquidate => bail!("traders do not liquidate: see `liquidate`"),
        };
        self.world.chain.send(&[ix], &[&actor.kp]).map_err(|e| {
            anyhow::anyhow!(
                "{}: {} {label} {symbol}: the quote accepted it, the chain said {e}",
                self.date,
                actor.name
            )
        })?;
        self.check(market, &owner, &q)?;
        self.log(What::Fill {
            trader: actor.name.clone(),
            market: symbol,
            action: label.into(),
            size: q.quote.size,
            oracle_price: q.quote.oracle_price,
            fill_price: q.quote.fill_price,
            q: q.quote.q,
            premium: q.quote.premium,
            fees: q.quote.fees,
            funding_paid: q.quote.funding_paid,
            realized_pnl: q.quote.realized_pnl,
            payout: q.quote.payout,
            imbalance_after: q.quote.imbalance_after,
        });
        Ok(Ok(q))
    }

    /// The liquidation keeper on `owner`'s position in `market`: liquidated if the program
    /// would (quoted first, checked after). Returns whether it was.
    pub fn liquidate(&mut self, owner: &Actor, market: usize) -> anyhow::Result<bool> {
        let key = owner.key();
        let view = self.world.trade_view(market, &key)?;
        if view.position.is_none() {
            return Ok(false);
        }
        let Ok(q) = quote_trade(&view, &key, TradeAction::Liquidate, 0, self.world.now) else {
            return Ok(false);
        };
        let m = &self.world.markets[market];
        let symbol = m.symbol.clone();
        let ix = ix::liquidate(
            &self.keeper.key(),
            &self.world.pool,
            &m.key,
            &key,
            &m.oracle,
            &self.keeper.quote,
            &owner.quote,
            Some(self.world.risk_model),
        );
        self.world
            .chain
            .send(&[ix], &[&self.keeper.kp])
            .map_err(|e| anyhow::anyhow!("a liquidation the quote accepted failed: {e}"))?;
        self.check(market, &key, &q)?;
        self.log(What::Liquidation {
            owner: owner.name.clone(),
            market: symbol,
            size: -q.quote.size,
            oracle_price: q.quote.oracle_price,
            keeper_reward: q.quote.keeper_reward,
            returned_to_owner: q.quote.payout,
            bad_debt: q.quote.bad_debt,
        });
        Ok(true)
    }

    /// The risk keeper: publish σ and R (full, row-major) as close to the target as the model's
    /// step bounds allow (`commands::risk::publish`), as of now.
    pub fn publish_risk(
        &mut self,
        target_sigma: Vec<f64>,
        target_corr: Vec<f64>,
    ) -> anyhow::Result<()> {
        let keeper = self.world.risk_keeper.insecure_clone();
        let p = crate::commands::risk::publish(
            &mut self.world.chain,
            &keeper,
            &self.world.pool,
            &target_sigma,
            &target_corr,
            self.world.now,
        )?;
        self.log(What::RiskPublished {
            as_of: p.as_of,
            sigma_e9: p.sigma_e9,
            max_corr_step_e9: p.max_corr_step_e9 as u64,
        });
        Ok(())
    }

    /// The day's balance line (and the vault check: it must hold exactly the pool's balances).
    pub fn snapshot(&mut self, prices: &[f64], open_positions: u32) -> anyhow::Result<()> {
        let pool = self.world.pool_state()?;
        let vault_key = self.world.vault;
        let vault = self.world.balance(&vault_key)?;
        anyhow::ensure!(
            vault as u128
                == pool.lp_capital as u128
                    + pool.default_fund as u128
                    + pool.total_collateral as u128,
            "{}: vault {vault} != LP capital + default fund + collateral",
            self.date
        );
        let lp_mint = self.world.lp_mint;
        let lp_supply = self.world.supply(&lp_mint)?;
        let mut oracles = Vec::with_capacity(self.world.markets.len());
        for key in self.world.oracles() {
            let account = self.world.chain.account(&key)?.context("oracle")?;
            oracles.push((key, account));
        }
        let (value, _) = pool_value(&pool, &self.world.pool, &oracles, self.world.now)
            .map_err(|e| anyhow::anyhow!("valuing the pool: {e}"))?;
        let (mut long_value, mut short_value) = (0.0, 0.0);
        for (i, m) in self.world.markets.iter().enumerate() {
            let slot = &pool.markets[i];
            let unit = prices[i] / 10f64.powi(m.base_decimals as i32);
            long_value += slot.long_oi as f64 * unit;
            short_value += slot.short_oi as f64 * unit;
        }
        self.log(What::Day {
            prices: prices.to_vec(),
            lp_capital: pool.lp_capital,
            default_fund: pool.default_fund,
            total_collateral: pool.total_collateral,
            vault,
            pool_value: value as i64,
            lp_supply: lp_supply + pool.dead_shares,
            imbalance_score: pool.risk.imbalance_score,
            exposure_norm: pool.risk.exposure_norm,
            open_positions,
            long_oi_value: (long_value * USD as f64) as u64,
            short_oi_value: (short_value * USD as f64) as u64,
        });
        Ok(())
    }
}
