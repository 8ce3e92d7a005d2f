//! The sandbox's collateral rebalancing desk: one 90-day BTC/USD pool after another (strike at
//! the money, on the perp pool's BTC push oracle), a lender, three borrowers, the keeper that
//! re-weights it daily and triggers the flight to quality, and an arbitrageur that trades the
//! pool back to the oracle price, buys the conversion sale and settles at expiry.

use anchor_lang::prelude::Pubkey;
use anyhow::Context;
use collateral_pool::constants::CONVERSION_CONFIRM_SECS;
use collateral_pool::instructions::{BorrowArgs, InitCrpPoolArgs, LendArgs, SwapArgs};
use collateral_pool::state::{CrpPool, status};
use perp_amm::state::OracleKind;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::crp::{self as cix, PoolKeys};
use crate::client::decode;
use crate::client::presets::crp_params;
use crate::sandbox::events::What;
use crate::sandbox::prices::Replay;
use crate::sandbox::world::{USD, World};
use crate::transport::{Transport, TxError};

/// The risky token (wrapped BTC) has 8 decimals.
const RISKY_DECIMALS: u8 = 8;
const BTC: u64 = 100_000_000;
const MARKET: usize = 0;
const TERM_DAYS: i64 = 90;
const BORROWERS: usize = 3;
/// Each borrower posts this much BTC and borrows this share of its value: with the riskless
/// leg that joins it (about 0.8 of the collateral at the money) the loan is ~45 % of what it
/// adds, under the 50 % initial LTV.
const COLLATERAL_BTC: u64 = 10;
const LOAN_SHARE: f64 = 0.8;

/// A participant's accounts for one pool.
struct Holder {
    kp: Keypair,
    risky: Pubkey,
    riskless: Pubkey,
    claims: Pubkey,
    residual: Pubkey,
}

struct Live {
    keys: PoolKeys,
    name: String,
    expiry: i64,
    lender: Holder,
    borrowers: Vec<Holder>,
    arb: Holder,
}

pub struct CrpDesk {
    risky_mint: Pubkey,
    keeper: Keypair,
    live: Option<Live>,
    pools: u32,
}

fn tx(what: &str) -> impl Fn(TxError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e}")
}

impl CrpDesk {
    pub fn new(world: &mut World) -> anyhow::Result<Self> {
        let risky_mint = world.create_mint(RISKY_DECIMALS)?;
        let keeper = world.actor("crp-keeper", 0)?.kp;
        Ok(CrpDesk {
            risky_mint,
            keeper,
            live: None,
            pools: 0,
        })
    }

    fn holder(
        &self,
        world: &mut World,
        keys: &PoolKeys,
        risky: u64,
        riskless: u64,
    ) -> anyhow::Result<Holder> {
        let actor = world.actor("crp-user", riskless)?;
        let risky_account = world.token_account(&self.risky_mint, &actor.key())?;
        if risky > 0 {
            world.mint_to(&self.risky_mint, &risky_account, risky)?;
        }
        let claims = world.token_account(&keys.lender_mint, &actor.key())?;
        let residual = world.token_account(&keys.residual_mint, &actor.key())?;
        Ok(Holder {
            kp: actor.kp,
            risky: risky_account,
            riskless: actor.quote,
            claims,
            residual,
        })
    }

    fn pool(world: &mut World, keys: &PoolKeys) -> anyhow::Result<CrpPool> {
        let data = world.chain.account_data(&keys.pool)?.context("crp pool")?;
        decode::crp_pool(&data)
    }

    /// The day's work; returns what to log.
    pub fn step(
        &mut self,
        world: &mut World,
        day: usize,
        replay: &Replay,
    ) -> anyhow::Result<Vec<What>> {
        let price = replay.prices[day][MARKET];
        let mut out = vec![];
        let Some(live) = self.live.as_mut() else {
            // a pool from the first day, and a new one whenever most of a term is left
            let days_left = replay.dates.len() - day;
            if day == 0 || days_left as i64 >= TERM_DAYS {
                out.push(self.open(world, price)?);
            }
            return Ok(out);
        };
        let keys = live.keys;
        let pool = Self::pool(world, &keys)?;
        if world.now >= live.expiry {
            out.push(self.settle(world, price)?);
            return Ok(out);
        }
        match pool.status {
            status::ACTIVE => {
                let keeper = self.keeper.insecure_clone();
                world
                    .chain
                    .send(&[cix::rebalance(&keeper.pubkey(), &keys)], &[&keeper])
                    .map_err(tx("rebalance"))?;
                // the rebalance itself starts the conversion when the LTV is past the threshold
                if Self::pool(world, &keys)?.status == status::ACTIVE {
                    arbitrage(world, &keys, &live.arb, price)?;
                }
                let p = Self::pool(world, &keys)?;
                let ltv = ltv_bps(&p, price);
                out.push(What::CrpRebalance {
                    pool: live.name.clone(),
                    price,
                    delta_e9: (p.last_delta.fix().to_num::<f64>() * 1e9) as u64,
                    weight_e9: (p.weight_at(world.now)?.to_num::<f64>() * 1e9) as u64,
                    ltv_bps: ltv,
                });
                // the program converts only on a breach at the oracle's mid price confirmed by
                // a print 300 s to 600 s after the first: the desk reports the day's print when
                // its own count says the LTV is past the threshold (it may record a breach the
                // rebalance missed), then, with a breach recorded, the day's prices again five
                // minutes on
                let arb = live.arb.kp.insecure_clone();
                let mut converting = p.status == status::CONVERTING;
                if !converting && ltv >= p.params.conversion_ltv_bps {
                    converting = trigger(world, &keys, &arb)?;
                }
                if !converting && Self::pool(world, &keys)?.breach_publish_ts != 0 {
                    world.set_time(world.now + CONVERSION_CONFIRM_SECS);
                    world.push_prices(&replay.prices[day])?;
                    converting = trigger(world, &keys, &arb)?;
                }
                if converting {
                    out.push(What::CrpConversion {
                        pool: live.name.clone(),
                        price,
                        ltv_bps: ltv,
                    });
                }
            }
            status::CONVERTING => {
                // the arbitrageur buys all the risky at the discounted oracle price
                let args = SwapArgs {
                    risky_in: false,
                    exact_in: false,
                    amount: pool.risky_balance,
                    limit: u64::MAX,
                };
                let arb = &live.arb;
                world
                    .chain
                    .send(
                        &[cix::swap(
                            &arb.kp.pubkey(),
                            &keys,
                            &arb.risky,
                            &arb.riskless,
                            args,
                        )],
                        &[&arb.kp],
                    )
                    .map_err(tx("conversion sale"))?;
            }
            // converted: frozen in riskless until expiry
            _ => {}
        }
        Ok(out)
    }

    fn open(&mut self, world: &mut World, price: f64) -> anyhow::Result<What> {
        let expiry = world.now + TERM_DAYS * 86_400;
        let oracle = world.markets[MARKET].oracle;
        let operator = world.operator().pubkey();
        let keys = PoolKeys::new(self.risky_mint, world.quote_mint, expiry, &operator, oracle);
        let mut feed_id = [0u8; 32];
        let symbol = world.markets[MARKET].symbol.clone();
        feed_id[..symbol.len()].copy_from_slice(symbol.as_bytes());
        let args = InitCrpPoolArgs {
            expiry,
            params: crp_params(price),
            keeper: self.keeper.pubkey(),
            oracle_kind: OracleKind::Push,
            feed_id,
            oracle_pool: world.pool,
        };
        world
            .chain
            .send(&[cix::init_pool(&operator, &keys, args)], &[])
            .map_err(tx("crp init_pool"))?;
        let collateral = COLLATERAL_BTC * BTC;
        let loan = (COLLATERAL_BTC as f64 * price * LOAN_SHARE * USD as f64) as u64;
        // lenders bring what the borrowers take and a twentieth more: unlent cash earns
        // nothing (README, collateral pool)
        let lend = loan * BORROWERS as u64 / 20 * 21;
        let lender = self.holder(world, &keys, 0, lend)?;
        world
            .chain
            .send(
                &[cix::lend(
                    &lender.kp.pubkey(),
                    &keys,
                    &lender.riskless,
                    &lender.claims,
                    LendArgs {
                        amount: lend,
                        min_claims: 0,
                    },
                )],
                &[&lender.kp],
            )
            .map_err(tx("lend"))?;
        let mut borrowers = vec![];
        for _ in 0..BORROWERS {
            // enough riskless for the leg that joins the pool's proportions
            let b = self.holder(world, &keys, collateral, 2 * loan)?;
            let args = BorrowArgs {
                collateral,
                loan,
                max_riskless_leg: u64::MAX,
                min_residual: 0,
            };
            world
                .chain
                .send(
                    &[cix::borrow(
                        &b.kp.pubkey(),
                        &keys,
                        (&b.risky, &b.riskless, &b.residual),
                        args,
                    )],
                    &[&b.kp],
                )
                .map_err(tx("borrow"))?;
            borrowers.push(b);
        }
        let arb = self.holder(world, &keys, 1_000 * BTC, 200_000_000 * USD)?;
        self.pools += 1;
        let name = format!("BTC-{}", self.pools);
        self.live = Some(Live {
            keys,
            name: name.clone(),
            expiry,
            lender,
            borrowers,
            arb,
        });
        Ok(What::CrpOpened {
            pool: name,
            strike: price,
            expiry: expiry.to_string(),
            lent: lend,
            borrowed: loan * BORROWERS as u64,
            collateral_risky: collateral * BORROWERS as u64,
        })
    }

    /// At expiry: settle (buying the shortfall sale first when the riskless side is short),
    /// redeem every claim, and close the desk's pool.
    fn settle(&mut self, world: &mut World, price: f64) -> anyhow::Result<What> {
        let live = self.live.take().context("a live pool")?;
        let keys = live.keys;
        let arb = &live.arb;
        let settle = |world: &mut World| {
            world
                .chain
                .send(&[cix::settle(&arb.kp.pubkey(), &keys)], &[&arb.kp])
                .map_err(tx("settle"))
        };
        let before_settle = Self::pool(world, &keys)?;
        let lender_owed = before_settle.loan_cash + before_settle.debt_face;
        if before_settle.status != status::SETTLING {
            settle(world)?;
        }
        let p = Self::pool(world, &keys)?;
        if p.status == status::SETTLING {
            let short = p.debt_face.saturating_sub(p.riskless_balance);
            let args = SwapArgs {
                risky_in: false,
                exact_in: true,
                amount: 2 * short + 1_000,
                limit: 0,
            };
            world
                .chain
                .send(
                    &[cix::swap(
                        &arb.kp.pubkey(),
                        &keys,
                        &arb.risky,
                        &arb.riskless,
                        args,
                    )],
                    &[&arb.kp],
                )
                .map_err(tx("settlement sale"))?;
            settle(world)?;
        }
        let lender = &live.lender;
        let before = world.balance(&lender.riskless)?;
        let claims = world.balance(&lender.claims)?;
        world
            .chain
            .send(
                &[cix::redeem_lender(
                    &lender.kp.pubkey(),
                    &keys,
                    (&lender.claims, &lender.risky, &lender.riskless),
                    claims,
                )],
                &[&lender.kp],
            )
            .map_err(tx("redeem_lender"))?;
        let lender_paid = world.balance(&lender.riskless)? - before;
        let (mut risky, mut riskless) = (0, 0);
        for b in &live.borrowers {
            let (r0, c0) = (world.balance(&b.risky)?, world.balance(&b.riskless)?);
            let claims = world.balance(&b.residual)?;
            world
                .chain
                .send(
                    &[cix::redeem_borrower(
                        &b.kp.pubkey(),
                        &keys,
                        (&b.residual, &b.risky, &b.riskless),
                        claims,
                    )],
                    &[&b.kp],
                )
                .map_err(tx("redeem_borrower"))?;
            risky += world.balance(&b.risky)? - r0;
            riskless += world.balance(&b.riskless)? - c0;
        }
        Ok(What::CrpSettled {
            pool: live.name,
            price,
            lender_paid,
            lender_owed,
            borrower_risky: risky,
            borrower_riskless: riskless,
        })
    }
}

/// Debt over marked value, bps.
fn ltv_bps(p: &CrpPool, price: f64) -> u64 {
    let risky = p.risky_balance as f64 / BTC as f64 * price * USD as f64;
    let value = risky + p.riskless_balance as f64;
    if value <= 0.0 {
        return u64::MAX;
    }
    (p.debt_face as f64 / value * 1e4) as u64
}

/// Report the oracle's print to the conversion check; whether the pool converted. A trigger
/// the program finds premature (below the threshold, or a breach not yet confirmed) is fine.
fn trigger(world: &mut World, keys: &PoolKeys, arb: &Keypair) -> anyhow::Result<bool> {
    use collateral_pool::errors::CrpError;
    let premature = [
        CrpError::BelowConversionThreshold,
        CrpError::BreachNotConfirmed,
    ];
    match world
        .chain
        .send(&[cix::trigger_conversion(&arb.pubkey(), keys)], &[arb])
    {
        Ok(()) => Ok(CrpDesk::pool(world, keys)?.status == status::CONVERTING),
        Err(e) if premature.iter().any(|c| e.code() == Some(crp_code(*c))) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("trigger_conversion: {e}")),
    }
}

/// Trade the pool's price back to the oracle's (exact in, through the program); a move too big
/// for the trade cap is halved until it fits, and the rest waits for the next day.
fn arbitrage(world: &mut World, keys: &PoolKeys, arb: &Holder, price: f64) -> anyhow::Result<()> {
    let p = CrpDesk::pool(world, keys)?;
    // native riskless per native risky
    let native_price = price * USD as f64 / BTC as f64;
    let Some((risky_in, mut amount)) = cix::arbitrage_trade(&p, native_price, world.now) else {
        return Ok(());
    };
    let (x, y) = (p.risky_balance as f64, p.riskless_balance as f64);
    // gaps below 1e-5 of the pool are not worth a trade
    let gap = if risky_in {
        amount as f64 / x
    } else {
        amount as f64 / y
    };
    if gap < 1e-5 {
        return Ok(());
    }
    use collateral_pool::errors::CrpError;
    let too_large = [
        CrpError::TradeTooLarge,
        CrpError::SlotTradeLimit,
        CrpError::PriceOffOracle,
    ];
    while amount > 0 {
        let args = SwapArgs {
            risky_in,
            exact_in: true,
            amount,
            limit: 0,
        };
        match world.chain.send(
            &[cix::swap(
                &arb.kp.pubkey(),
                keys,
                &arb.risky,
                &arb.riskless,
                args,
            )],
            &[&arb.kp],
        ) {
            Ok(()) => break,
            // too large for the trade cap, the slot's cap or the oracle's band: a smaller trade
            Err(e) if too_large.iter().any(|c| e.code() == Some(crp_code(*c))) => amount /= 2,
            Err(e) => return Err(anyhow::anyhow!("arbitrage: {e}")),
        }
    }
    Ok(())
}

fn crp_code(e: collateral_pool::errors::CrpError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}
