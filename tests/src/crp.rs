//! A collateral rebalancing pool on a push oracle, its users, and the everyday actions on it.

use anchor_lang::prelude::Pubkey;
use collateral_pool::errors::CrpError;
use collateral_pool::instructions::*;
use collateral_pool::state::{CrpParams, CrpPool, status};
use keel::client::crp::{self as cix, PoolKeys};
use perp_amm::state::OracleKind;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::fixture::{BASE_DECIMALS, PerpFixture};
use crate::{TestContext, TxError};

pub const DAY: i64 = 86_400;
/// Tokens with 6 decimals: 1 whole token.
pub const ONE: u64 = 1_000_000;

/// The client's 90-day pool parameters (σ 80 %, LTV 50 % initial and 80 % conversion, α 0.5,
/// daily rebalances, 0.3 % fee of which a fifth to the reserve, 30 % trade cap, 5 % rate, 1 %
/// sale discount, prices at most a minute old and 1 % wide) struck at 100, the test oracle's
/// opening price.
pub fn default_crp_params() -> CrpParams {
    keel::client::presets::crp_params(100.0)
}

/// A participant with an account for each of the pool's four tokens.
pub struct CrpUser {
    pub kp: Keypair,
    pub risky: Pubkey,
    pub riskless: Pubkey,
    pub claims: Pubkey,
    pub residual: Pubkey,
}

impl CrpUser {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

pub struct CrpFixture {
    /// Owns the push oracle (its market 0) the pool reads.
    pub perp: PerpFixture,
    pub keys: PoolKeys,
    pub expiry: i64,
    pub keeper: Keypair,
}

impl CrpFixture {
    /// A 90-day pool at `price` with `params`; the rebalance is restricted to `keeper`.
    pub async fn new(t: &mut TestContext, price: f64, params: CrpParams) -> Self {
        let keeper = Keypair::new();
        let fx = Self::create(t, price, params, 90 * DAY, keeper.pubkey()).await;
        match fx {
            Ok(mut fx) => {
                fx.keeper = keeper;
                fx
            }
            Err((e, _)) => panic!("init_pool failed: {e:?}"),
        }
    }

    /// Create the pool; on failure returns the error and the keys it would have had.
    pub async fn create(
        t: &mut TestContext,
        price: f64,
        params: CrpParams,
        term: i64,
        keeper: Pubkey,
    ) -> Result<Self, (TxError, PoolKeys)> {
        let perp = PerpFixture::new(t, &[price]).await;
        let authority = t.mint_authority.pubkey();
        let risky_mint = t.create_mint(&authority, BASE_DECIMALS).await;
        let expiry = t.now + term;
        let admin = t.admin.insecure_clone();
        let keys = PoolKeys::new(
            risky_mint,
            t.quote_mint,
            expiry,
            &admin.pubkey(),
            perp.markets[0].oracle,
        );
        let args = InitCrpPoolArgs {
            expiry,
            params,
            keeper,
            oracle_kind: OracleKind::Push,
            feed_id: perp.markets[0].feed_id,
            oracle_pool: perp.pool,
        };
        t.send(&[cix::init_pool(&admin.pubkey(), &keys, args)], &[&admin])
            .await
            .map_err(|e| (e, keys))?;
        Ok(CrpFixture {
            perp,
            keys,
            expiry,
            keeper: Keypair::new(),
        })
    }

    /// A user holding `risky` and `riskless` native units.
    pub async fn user(&self, t: &mut TestContext, risky: u64, riskless: u64) -> CrpUser {
        let base = t.user(riskless).await;
        let k = self.keys;
        let risky_account = t.create_token_account(&k.risky_mint, &base.key()).await;
        if risky > 0 {
            t.mint_to(&k.risky_mint, &risky_account, risky).await;
        }
        let claims = t.create_token_account(&k.lender_mint, &base.key()).await;
        let residual = t.create_token_account(&k.residual_mint, &base.key()).await;
        CrpUser {
            kp: base.kp,
            risky: risky_account,
            riskless: base.quote,
            claims,
            residual,
        }
    }

    pub async fn pool(&self, t: &mut TestContext) -> CrpPool {
        t.crp_pool(&self.keys.pool).await
    }

    /// Publish a price (conf 0) at the bank's current time.
    pub async fn set_price(&self, t: &mut TestContext, price: f64) {
        self.perp.set_price(t, 0, price, 0.0).await;
    }

    pub async fn lend(&self, t: &mut TestContext, u: &CrpUser, amount: u64) -> Result<(), TxError> {
        let args = LendArgs {
            amount,
            min_claims: 0,
        };
        let ix = cix::lend(&u.key(), &self.keys, &u.riskless, &u.claims, args);
        t.send(&[ix], &[&u.kp]).await
    }

    pub async fn borrow(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
        collateral: u64,
        loan: u64,
    ) -> Result<(), TxError> {
        let args = BorrowArgs {
            collateral,
            loan,
            max_riskless_leg: u64::MAX,
            min_residual: 0,
        };
        self.borrow_with(t, u, args).await
    }

    pub async fn borrow_with(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
        args: BorrowArgs,
    ) -> Result<(), TxError> {
        let ix = cix::borrow(
            &u.key(),
            &self.keys,
            (&u.risky, &u.riskless, &u.residual),
            args,
        );
        t.send(&[ix], &[&u.kp]).await
    }

    pub async fn swap(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
        risky_in: bool,
        exact_in: bool,
        amount: u64,
        limit: u64,
    ) -> Result<(), TxError> {
        let args = SwapArgs {
            risky_in,
            exact_in,
            amount,
            limit,
        };
        let ix = cix::swap(&u.key(), &self.keys, &u.risky, &u.riskless, args);
        t.send(&[ix], &[&u.kp]).await
    }

    pub async fn rebalance(&self, t: &mut TestContext) -> Result<(), TxError> {
        let keeper = self.keeper.insecure_clone();
        t.send(&[cix::rebalance(&keeper.pubkey(), &self.keys)], &[&keeper])
            .await
    }

    pub async fn trigger_conversion(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
    ) -> Result<(), TxError> {
        t.send(&[cix::trigger_conversion(&u.key(), &self.keys)], &[&u.kp])
            .await
    }

    pub async fn settle(&self, t: &mut TestContext, u: &CrpUser) -> Result<(), TxError> {
        t.send(&[cix::settle(&u.key(), &self.keys)], &[&u.kp]).await
    }

    pub async fn redeem_lender(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
        claims: u64,
    ) -> Result<(), TxError> {
        let accounts = (&u.claims, &u.risky, &u.riskless);
        let ix = cix::redeem_lender(&u.key(), &self.keys, accounts, claims);
        t.send(&[ix], &[&u.kp]).await
    }

    pub async fn redeem_borrower(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
        claims: u64,
    ) -> Result<(), TxError> {
        let ix = cix::redeem_borrower(
            &u.key(),
            &self.keys,
            (&u.residual, &u.risky, &u.riskless),
            claims,
        );
        t.send(&[ix], &[&u.kp]).await
    }

    pub async fn fund_reserve(
        &self,
        t: &mut TestContext,
        u: &CrpUser,
        amount: u64,
    ) -> Result<(), TxError> {
        let ix = cix::fund_reserve(&u.key(), &self.keys, &u.riskless, amount);
        t.send(&[ix], &[&u.kp]).await
    }

    /// An arbitrageur trades the pool's price back to `price` (exact in, through the program);
    /// a move too big for one trade under the ratio cap is left partly to the next day.
    pub async fn arbitrage(&self, t: &mut TestContext, arb: &CrpUser, price: f64) {
        let p = self.pool(t).await;
        let Some((risky_in, mut amount)) = cix::arbitrage_trade(&p, price, t.now) else {
            return;
        };
        while amount > 0 {
            match self.swap(t, arb, risky_in, true, amount, 0).await {
                Ok(()) => break,
                Err(e)
                    if e.code() == Some(crate::crp(CrpError::TradeTooLarge))
                        || e.code() == Some(crate::crp(CrpError::SlotTradeLimit))
                        || e.code() == Some(crate::crp(CrpError::ZeroAmount)) =>
                {
                    amount /= 2
                }
                Err(e) => panic!("arbitrage failed: {e:?}"),
            }
        }
    }

    /// Push the pool's price as far as the program lets `u` in one slot, up (`up`: buying risky)
    /// or down: up to `trades` swaps, each starting at a quarter of a balance and halved while
    /// the program refuses it (past the oracle's band, the slot's trade cap or the per-swap
    /// cap). Returns how many landed. The sandwich tests' pre-trade.
    pub async fn push(&self, t: &mut TestContext, u: &CrpUser, up: bool, trades: usize) -> usize {
        let limits = [
            CrpError::PriceOffOracle,
            CrpError::SlotTradeLimit,
            CrpError::TradeTooLarge,
            CrpError::ZeroAmount,
        ];
        let mut landed = 0;
        for _ in 0..trades {
            let p = self.pool(t).await;
            let mut amount = if up {
                p.riskless_balance / 4
            } else {
                p.risky_balance / 4
            };
            while amount > 0 {
                match self.swap(t, u, !up, true, amount, 0).await {
                    Ok(()) => {
                        landed += 1;
                        break;
                    }
                    Err(e) if limits.iter().any(|c| e.code() == Some(crate::crp(*c))) => {
                        amount /= 2
                    }
                    Err(e) => panic!("push: {e:?}"),
                }
            }
        }
        landed
    }

    /// Settle at expiry: if the riskless side does not cover the debt, `arb` first buys the risky
    /// the pool must sell (the sale caps itself at what covers the debt).
    /// A pool already settling goes straight to the sale.
    pub async fn settle_fully(&self, t: &mut TestContext, arb: &CrpUser) {
        if self.pool(t).await.status != status::SETTLING {
            self.settle(t, arb).await.unwrap();
        }
        if self.pool(t).await.status == status::SETTLING {
            let p = self.pool(t).await;
            let short = p.debt_face - p.riskless_balance;
            self.swap(t, arb, false, true, 2 * short + 1_000, 0)
                .await
                .unwrap();
            let p = self.pool(t).await;
            assert!(
                p.riskless_balance >= p.debt_face || p.risky_balance == 0,
                "the sale covered the debt, or sold everything trying"
            );
            // and no more than that: the last risky unit sold is what crossed it
            if p.riskless_balance >= p.debt_face {
                let last = self.swap_cost_of_one_unit(t).await;
                assert!(
                    p.riskless_balance - p.debt_face <= last,
                    "the sale stopped at the debt"
                );
            }
            self.assert_conserved(t).await;
            self.settle(t, arb).await.unwrap();
        }
        assert_eq!(self.pool(t).await.status, status::SETTLED);
    }

    /// What one risky native unit costs in the conversion sale at the oracle's current price.
    async fn swap_cost_of_one_unit(&self, t: &mut TestContext) -> u64 {
        let data = t.account_data(&self.keys.oracle).await.unwrap();
        let oracle =
            <perp_amm::state::PushOracle as anchor_lang::AccountDeserialize>::try_deserialize(
                &mut &data[..],
            )
            .unwrap();
        let p = self.pool(t).await;
        // price in riskless native per risky native (both 6 decimals), less the discount, up
        let price = oracle.price as f64 * 10f64.powi(oracle.expo);
        (price * (1.0 - p.params.conversion_discount_bps as f64 / 1e4)).ceil() as u64 + 1
    }

    /// Every account a failed instruction must leave untouched: the pool, both vaults, both
    /// claim mints and the user's four token accounts.
    pub fn watched(&self, u: &CrpUser) -> Vec<Pubkey> {
        let k = &self.keys;
        vec![
            k.pool,
            k.risky_vault,
            k.riskless_vault,
            k.lender_mint,
            k.residual_mint,
            u.risky,
            u.riskless,
            u.claims,
            u.residual,
        ]
    }

    /// Vaults equal the pool's accounting, and the claim mints' supplies its claim totals.
    pub async fn assert_conserved(&self, t: &mut TestContext) {
        let pool = self.pool(t).await;
        let k = self.keys;
        assert_eq!(
            t.balance(&k.risky_vault).await,
            pool.risky_balance + pool.lender_risky,
            "risky vault != pool + lenders' risky"
        );
        assert_eq!(
            t.balance(&k.riskless_vault).await as u128,
            pool.riskless_total(),
            "riskless vault != pool + loan cash + reserve + lender assets"
        );
        assert_eq!(
            t.lp_supply(&k.lender_mint).await,
            pool.lender_claims,
            "lender claims"
        );
        assert_eq!(
            t.lp_supply(&k.residual_mint).await,
            pool.residual_supply,
            "residual claims"
        );
    }
}
