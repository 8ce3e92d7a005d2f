//! The sandbox's chain: the embedded runtime with both programs, the quote token, the perp pool
//! with the ten default markets on push oracles, its risk model, and the token chores every
//! participant needs. The operator (pool authority, oracle authority, mint authority) is the
//! runtime's payer; keepers and users have their own keys.

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use anyhow::Context;
use perp_amm::instructions::{AddMarketArgs, InitPoolArgs, InitRiskModelArgs, RiskLimits};
use perp_amm::state::{Calendar, Market, OracleKind, Pool, Position, ScheduleArgs};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::presets::{MarketPreset, PRICE_EXPO, push_args};
use crate::client::quote::TradeView;
use crate::client::token::{
    create_mint_ixs, create_token_account_ixs, mint_rent, token_account_rent,
};
use crate::client::{decode, fetch, perp as ix};
use crate::transport::{Embedded, Transport, TxError};

pub const QUOTE_DECIMALS: u8 = 6;
/// Whole quote tokens to native units.
pub const USD: u64 = 1_000_000;
/// A participant: a key and a quote-token account.
pub struct Actor {
    pub name: String,
    pub kp: Keypair,
    pub quote: Pubkey,
}

impl Actor {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

impl Clone for Actor {
    fn clone(&self) -> Self {
        Actor {
            name: self.name.clone(),
            kp: self.kp.insecure_clone(),
            quote: self.quote,
        }
    }
}

/// A market's addresses.
pub struct MarketKeys {
    pub symbol: String,
    pub key: Pubkey,
    pub oracle: Pubkey,
    pub base_decimals: u8,
}

pub struct World {
    pub chain: Embedded,
    pub now: i64,
    pub quote_mint: Pubkey,
    pub pool: Pubkey,
    pub lp_mint: Pubkey,
    pub vault: Pubkey,
    pub markets: Vec<MarketKeys>,
    pub risk_model: Pubkey,
    pub risk_keeper: Keypair,
    /// The prices last published (whole quote per base), in market order.
    pub prices: Vec<f64>,
    /// The pool's market-hours calendar as last read (`None`: every market always open, as in
    /// scripted scenarios) and each market's schedule index.
    pub calendar: Option<Box<Calendar>>,
    pub schedules: Vec<u8>,
}

fn tx(e: TxError) -> anyhow::Error {
    anyhow::anyhow!("transaction failed: {e}")
}

impl World {
    /// Boot the runtime at `now`, create the quote token and the pool with `markets` at
    /// `prices`, and its risk model with `limits` (published separately).
    pub fn new(
        now: i64,
        markets: &[MarketPreset],
        prices: &[f64],
        limits: RiskLimits,
    ) -> anyhow::Result<Self> {
        let mut chain = Embedded::start(now)?;
        let operator = chain.payer().insecure_clone();
        let quote_mint = create_mint(&mut chain, &operator.pubkey(), QUOTE_DECIMALS)?;
        let args = InitPoolArgs {
            pool_id: 0,
            lp_fee_share_bps: 8_000,
            target_default_prob_e9: 10_000_000,
            min_deposit: 10 * USD,
            oracle_authority: operator.pubkey(),
            requests: crate::client::presets::request_params(),
        };
        chain
            .send(&[ix::init_pool(&operator.pubkey(), &quote_mint, args)], &[])
            .map_err(tx)?;
        let pool = ix::pool_pda(&quote_mint, 0);
        let risk_keeper = Keypair::new();
        let mut w = World {
            chain,
            now,
            quote_mint,
            pool,
            lp_mint: ix::lp_mint_pda(&pool),
            vault: ix::vault_pda(&pool),
            markets: vec![],
            risk_model: ix::risk_model_pda(&pool),
            risk_keeper,
            prices: prices.to_vec(),
            calendar: None,
            schedules: markets.iter().map(|m| m.params.schedule).collect(),
        };
        for (i, (m, &price)) in markets.iter().zip(prices).enumerate() {
            let mut feed_id = [0u8; 32];
            feed_id[..m.symbol.len()].copy_from_slice(m.symbol.as_bytes());
            let oracle = ix::push_oracle_pda(&pool, &feed_id);
            let mut symbol = [0u8; 16];
            symbol[..m.symbol.len()].copy_from_slice(m.symbol.as_bytes());
            let add = AddMarketArgs {
                symbol,
                base_decimals: m.base_decimals,
                oracle_kind: OracleKind::Push,
                feed_id,
                params: m.params,
            };
            w.chain
                .send(
                    &[
                        ix::init_push_oracle(&operator.pubkey(), &pool, feed_id, PRICE_EXPO),
                        ix::update_push_oracle(
                            &operator.pubkey(),
                            &pool,
                            &oracle,
                            push_args(price, now),
                        ),
                        ix::add_market(&operator.pubkey(), &pool, i as u8, &oracle, add),
                    ],
                    &[],
                )
                .map_err(tx)
                .with_context(|| format!("adding {}", m.symbol))?;
            w.markets.push(MarketKeys {
                symbol: m.symbol.to_string(),
                key: ix::market_pda(&pool, i as u8),
                oracle,
                base_decimals: m.base_decimals,
            });
        }
        let keeper_key = w.risk_keeper.pubkey();
        w.airdrop(&keeper_key)?;
        let args = InitRiskModelArgs {
            risk_authority: keeper_key,
            max_sigma_step_bps: 2_000,
            max_corr_step_e9: 100_000_000,
            psd_tolerance_e9: 1_000,
            limits,
        };
        let bounds = crate::client::presets::risk_bounds();
        w.chain
            .send(
                &[
                    ix::init_risk_model(&operator.pubkey(), &pool, args),
                    ix::set_risk_bounds(&operator.pubkey(), &pool, bounds),
                ],
                &[],
            )
            .map_err(tx)?;
        Ok(w)
    }

    pub fn operator(&self) -> Keypair {
        self.chain.payer().insecure_clone()
    }

    /// Move the bank clock.
    pub fn set_time(&mut self, now: i64) {
        self.now = now;
        self.chain.set_time(now);
    }

    fn airdrop(&mut self, to: &Pubkey) -> anyhow::Result<()> {
        self.chain.airdrop(to, 10_000_000_000).map_err(tx)
    }

    /// A participant with SOL for fees and rent and `quote` native units of the quote token.
    pub fn actor(&mut self, name: &str, quote: u64) -> anyhow::Result<Actor> {
        let kp = Keypair::new();
        self.airdrop(&kp.pubkey())?;
        let mint = self.quote_mint;
        let account = self.token_account(&mint, &kp.pubkey())?;
        if quote > 0 {
            self.mint_to(&mint, &account, quote)?;
        }
        Ok(Actor {
            name: name.to_string(),
            kp,
            quote: account,
        })
    }

    pub fn create_mint(&mut self, decimals: u8) -> anyhow::Result<Pubkey> {
        let operator = self.operator().pubkey();
        create_mint(&mut self.chain, &operator, decimals)
    }

    pub fn token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> anyhow::Result<Pubkey> {
        let account = Keypair::new();
        let payer = self.operator().pubkey();
        let ixs =
            create_token_account_ixs(&payer, &account.pubkey(), mint, owner, token_account_rent());
        self.chain.send(&ixs, &[&account]).map_err(tx)?;
        Ok(account.pubkey())
    }

    /// Mint from a mint the operator controls (the quote token and the sandbox's risky tokens).
    pub fn mint_to(&mut self, mint: &Pubkey, to: &Pubkey, amount: u64) -> anyhow::Result<()> {
        let operator = self.operator().pubkey();
        let ix = spl_token::instruction::mint_to(&spl_token::ID, mint, to, &operator, &[], amount)?;
        self.chain.send(&[ix], &[]).map_err(tx)
    }

    pub fn balance(&mut self, token_account: &Pubkey) -> anyhow::Result<u64> {
        fetch::token_balance(&mut self.chain, token_account)
    }

    pub fn supply(&mut self, mint: &Pubkey) -> anyhow::Result<u64> {
        Ok(fetch::mint(&mut self.chain, mint)?.supply)
    }

    pub fn pool_state(&mut self) -> anyhow::Result<Pool> {
        let data = self.chain.account_data(&self.pool)?.context("no pool")?;
        decode::perp_pool(&data)
    }

    pub fn position(&mut self, market: usize, owner: &Pubkey) -> anyhow::Result<Option<Position>> {
        let key = ix::position_pda(&self.markets[market].key, owner);
        self.chain
            .account_data(&key)?
            .map(|d| decode::position(&d))
            .transpose()
    }

    /// Publish every open market's price (whole quote per base), stamped now: one transaction.
    /// A closed market's feed is silent, as a real one is; its price is kept for its reopen.
    pub fn push_prices(&mut self, prices: &[f64]) -> anyhow::Result<()> {
        self.prices = prices.to_vec();
        let ixs = self.republish(None);
        if ixs.is_empty() {
            return Ok(());
        }
        self.chain.send(&ixs, &[]).map_err(tx)
    }

    /// Instructions re-publishing the last prices stamped now: one market's, or every one's
    /// (what a keeper executing a request posts first: a price published after the request);
    /// none for a market its schedule has closed.
    pub fn republish(&self, market: Option<usize>) -> Vec<solana_instruction::Instruction> {
        let operator = self.operator().pubkey();
        self.markets
            .iter()
            .zip(&self.prices)
            .enumerate()
            .filter(|(i, _)| market.is_none_or(|m| m == *i))
            .filter(|(i, _)| self.is_open(*i, self.now))
            .map(|(_, (m, &p))| {
                ix::update_push_oracle(&operator, &self.pool, &m.oracle, push_args(p, self.now))
            })
            .collect()
    }

    /// Give the pool its calendar with the preset schedules (FX's and CME's weekly hours, no
    /// holidays yet), before any position is open: they apply at once.
    pub fn keep_hours(&mut self) -> anyhow::Result<()> {
        let operator = self.operator().pubkey();
        let mut ixs = vec![ix::init_calendar(&operator, &self.pool)];
        for (index, schedule) in crate::client::presets::schedules() {
            ixs.push(ix::set_schedule(&operator, &self.pool, index, schedule));
        }
        self.chain.send(&ixs, &[]).map_err(tx)?;
        self.reload_calendar()
    }

    fn reload_calendar(&mut self) -> anyhow::Result<()> {
        let key = ix::calendar_pda(&self.pool);
        let data = self.chain.account_data(&key)?.context("calendar")?;
        self.calendar = Some(decode::calendar(&data)?);
        Ok(())
    }

    /// Whether `market` is open at `ts` (always, without a calendar).
    pub fn is_open(&self, market: usize, ts: i64) -> bool {
        match &self.calendar {
            None => true,
            Some(c) => c.is_open(self.schedules[market], ts).unwrap_or(true),
        }
    }

    /// Whether `market` is within the hour before a long close at `ts`.
    pub fn closing_soon(&self, market: usize, ts: i64) -> bool {
        match &self.calendar {
            None => false,
            Some(c) => c.closing_soon(self.schedules[market], ts).unwrap_or(false),
        }
    }

    /// The schedule `index` in force at `ts`, as the program sees it.
    pub fn schedule_at(&self, index: u8, ts: i64) -> Option<perp_amm::state::Schedule> {
        self.calendar
            .as_ref()
            .and_then(|c| c.schedule(index, ts).copied())
    }

    /// Whether schedule `index` has a change announced and not yet in force at `ts`.
    pub fn schedule_pending(&self, index: u8, ts: i64) -> bool {
        self.calendar.as_ref().is_some_and(|c| {
            let slot = &c.schedules[index as usize - 1];
            slot.next_from != 0 && ts < slot.next_from
        })
    }

    /// The operator sets schedule `index` to `schedule` (announced when positions are open);
    /// returns when it takes effect.
    pub fn set_schedule(&mut self, index: u8, schedule: ScheduleArgs) -> anyhow::Result<i64> {
        let operator = self.operator().pubkey();
        self.chain
            .send(
                &[ix::set_schedule(&operator, &self.pool, index, schedule)],
                &[],
            )
            .map_err(tx)?;
        self.reload_calendar()?;
        let c = self.calendar.as_ref().context("calendar")?;
        let slot = &c.schedules[index as usize - 1];
        Ok(if slot.next_from != 0 {
            slot.next_from
        } else {
            self.now
        })
    }

    pub fn oracles(&self) -> Vec<Pubkey> {
        self.markets.iter().map(|m| m.oracle).collect()
    }

    /// The accounts a trade on `market` by `owner` reads.
    pub fn trade_view(&mut self, market: usize, owner: &Pubkey) -> anyhow::Result<TradeView> {
        let key = self.markets[market].key;
        let data = self.chain.account_data(&key)?.context("market")?;
        let market: Market = decode::market(&data)?;
        crate::client::fetch::trade_view(&mut self.chain, &self.pool, market, owner)
    }
}

fn create_mint(chain: &mut Embedded, authority: &Pubkey, decimals: u8) -> anyhow::Result<Pubkey> {
    let mint = Keypair::new();
    let payer = chain.payer().pubkey();
    let ixs = create_mint_ixs(&payer, &mint.pubkey(), authority, decimals, mint_rent());
    chain.send(&ixs, &[&mint]).map_err(tx)?;
    Ok(mint.pubkey())
}
