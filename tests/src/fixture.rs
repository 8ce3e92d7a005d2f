//! A pool with markets on push oracles, and the everyday actions on it.

use anchor_lang::prelude::Pubkey;
use perp_amm::instructions::*;
use perp_amm::state::OracleKind;
use solana_signer::Signer;

use crate::{TestContext, TxError, User, ix};

pub const E6: u64 = 1_000_000;
pub const E9: u64 = 1_000_000_000;
pub use perp_amm::state::MarketParams;

/// Parameters for tests: the client's reference market (5 % σ, no spread, 0.1 % fees, 20x,
/// 2.5 % maintenance), the one the SBF bench costs too.
pub use keel::client::presets::reference_market_params as default_params;

pub struct MarketFixture {
    pub key: Pubkey,
    pub index: u8,
    pub oracle: Pubkey,
    pub feed_id: [u8; 32],
    /// Decimal exponent of the push oracle's prices.
    pub expo: i32,
}

pub struct PerpFixture {
    pub pool: Pubkey,
    pub vault: Pubkey,
    pub lp_mint: Pubkey,
    pub markets: Vec<MarketFixture>,
    /// The pool's risk model once created: every fill then passes it.
    pub risk_model: Option<Pubkey>,
}

/// Push-oracle prices in tests carry 6 decimals (expo −6); base assets have 6 decimals too, so
/// a price of 100.0 is 100 quote native per base native.
pub const PRICE_EXPO: i32 = -6;
pub const BASE_DECIMALS: u8 = 6;

impl PerpFixture {
    /// A pool with one market per entry of `prices` (whole quote per base), default parameters.
    pub async fn new(t: &mut TestContext, prices: &[f64]) -> Self {
        Self::with_params(t, prices, default_params()).await
    }

    pub async fn with_params(t: &mut TestContext, prices: &[f64], params: MarketParams) -> Self {
        Self::with_id(t, 0, prices, params).await
    }

    /// A pool with id `pool_id` (several pools may share one bank and quote mint).
    pub async fn with_id(
        t: &mut TestContext,
        pool_id: u64,
        prices: &[f64],
        params: MarketParams,
    ) -> Self {
        let admin = t.admin.insecure_clone();
        let args = InitPoolArgs {
            pool_id,
            lp_fee_share_bps: 8_000,
            target_default_prob_e9: E9 / 100,
            min_deposit: 10 * E6,
            oracle_authority: t.oracle_authority.pubkey(),
        };
        let mint = t.quote_mint;
        t.send(&[ix::init_pool(&admin.pubkey(), &mint, args)], &[&admin])
            .await
            .unwrap();
        let pool = ix::pool_pda(&mint, pool_id);
        let mut f = PerpFixture {
            pool,
            vault: ix::vault_pda(&pool),
            lp_mint: ix::lp_mint_pda(&pool),
            markets: vec![],
            risk_model: None,
        };
        for &p in prices {
            f.add_market(t, p, params).await;
        }
        f
    }

    pub async fn add_market(
        &mut self,
        t: &mut TestContext,
        initial_price: f64,
        params: MarketParams,
    ) -> u8 {
        self.add_market_with(t, initial_price, params, BASE_DECIMALS, PRICE_EXPO)
            .await
    }

    /// A market with its own base decimals and push-oracle exponent.
    pub async fn add_market_with(
        &mut self,
        t: &mut TestContext,
        initial_price: f64,
        params: MarketParams,
        base_decimals: u8,
        expo: i32,
    ) -> u8 {
        let index = self.markets.len() as u8;
        // feed ids only need to be unique per pool (the push-oracle PDA includes the pool)
        let mut feed_id = [0u8; 32];
        feed_id[0] = index;
        feed_id[1] = 0xfe;
        let oracle_auth = t.oracle_authority.insecure_clone();
        t.send(
            &[ix::init_push_oracle(
                &oracle_auth.pubkey(),
                &self.pool,
                feed_id,
                expo,
            )],
            &[&oracle_auth],
        )
        .await
        .unwrap();
        let oracle = ix::push_oracle_pda(&self.pool, &feed_id);
        let m = MarketFixture {
            key: ix::market_pda(&self.pool, index),
            index,
            oracle,
            feed_id,
            expo,
        };
        self.markets.push(m);
        self.set_price(t, index, initial_price, 0.0).await;
        let mut symbol = [0u8; 16];
        symbol[..4].copy_from_slice(b"TEST");
        symbol[4] = b'0' + index % 10;
        let args = AddMarketArgs {
            symbol,
            base_decimals,
            oracle_kind: OracleKind::Push,
            feed_id,
            params,
        };
        let admin = t.admin.insecure_clone();
        t.send(
            &[ix::add_market(
                &admin.pubkey(),
                &self.pool,
                index,
                &oracle,
                args,
            )],
            &[&admin],
        )
        .await
        .unwrap();
        index
    }

    /// Publish a price (whole quote per base) with a confidence interval, stamped now.
    pub async fn set_price(&self, t: &mut TestContext, market: u8, value: f64, conf: f64) {
        let m = &self.markets[market as usize];
        let scale = 10f64.powi(-m.expo);
        let args = PushPriceArgs {
            price: (value * scale).round() as i64,
            conf: (conf * scale).round() as u64,
            publish_time: t.now,
        };
        let oracle_auth = t.oracle_authority.insecure_clone();
        t.send(
            &[ix::update_push_oracle(
                &oracle_auth.pubkey(),
                &self.pool,
                &m.oracle,
                args,
            )],
            &[&oracle_auth],
        )
        .await
        .unwrap();
    }

    /// Re-publish every market's current price at the current time (keeps them fresh).
    pub async fn refresh_prices(&self, t: &mut TestContext) {
        for m in 0..self.markets.len() {
            let data = t.account_data(&self.markets[m].oracle).await.unwrap();
            let oracle: perp_amm::state::PushOracle =
                anchor_lang::AccountDeserialize::try_deserialize(&mut &data[..]).unwrap();
            let scale = 10f64.powi(-self.markets[m].expo);
            self.set_price(
                t,
                m as u8,
                oracle.price as f64 / scale,
                oracle.conf as f64 / scale,
            )
            .await;
        }
    }

    pub fn oracles(&self) -> Vec<Pubkey> {
        self.markets.iter().map(|m| m.oracle).collect()
    }

    pub fn position(&self, market: u8, owner: &Pubkey) -> Pubkey {
        ix::position_pda(&self.markets[market as usize].key, owner)
    }

    pub async fn lp_account(&self, t: &mut TestContext, user: &User) -> Pubkey {
        let mint = self.lp_mint;
        t.create_token_account(&mint, &user.key()).await
    }

    pub async fn deposit(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        amount: u64,
    ) -> Result<(), TxError> {
        let i = ix::deposit(
            &user.key(),
            &self.pool,
            &user.quote,
            lp,
            &self.oracles(),
            DepositArgs {
                amount,
                min_shares: 0,
            },
        );
        t.send(&[i], &[&user.kp]).await
    }

    pub async fn withdraw(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        shares: u64,
    ) -> Result<(), TxError> {
        let i = ix::withdraw(
            &user.key(),
            &self.pool,
            &user.quote,
            lp,
            &self.oracles(),
            WithdrawArgs {
                shares,
                min_amount: 0,
            },
        );
        t.send(&[i], &[&user.kp]).await
    }

    pub async fn open(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        size: i64,
        collateral: u64,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let limit = if size > 0 { u64::MAX } else { 0 };
        let args = OpenPositionArgs {
            size,
            collateral,
            price_limit_e9: limit,
        };
        t.send(
            &[ix::open_position(
                &user.key(),
                &self.pool,
                &m.key,
                &m.oracle,
                &user.quote,
                args,
                self.risk_model,
            )],
            &[&user.kp],
        )
        .await
    }

    pub async fn increase(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        size: i64,
        collateral: u64,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let limit = if size > 0 { u64::MAX } else { 0 };
        let args = IncreasePositionArgs {
            size,
            collateral,
            price_limit_e9: limit,
        };
        t.send(
            &[ix::increase_position(
                &user.key(),
                &self.pool,
                &m.key,
                &m.oracle,
                &user.quote,
                args,
                self.risk_model,
            )],
            &[&user.kp],
        )
        .await
    }

    pub async fn decrease(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        size: u64,
        long: bool,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let limit = if long { 0 } else { u64::MAX };
        let args = DecreasePositionArgs {
            size,
            price_limit_e9: limit,
        };
        t.send(
            &[ix::decrease_position(
                &user.key(),
                &self.pool,
                &m.key,
                &m.oracle,
                &user.quote,
                args,
                self.risk_model,
            )],
            &[&user.kp],
        )
        .await
    }

    pub async fn close(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        long: bool,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let limit = if long { 0 } else { u64::MAX };
        t.send(
            &[ix::close_position(
                &user.key(),
                &self.pool,
                &m.key,
                &m.oracle,
                &user.quote,
                limit,
                self.risk_model,
            )],
            &[&user.kp],
        )
        .await
    }

    pub async fn add_collateral(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        amount: u64,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        t.send(
            &[ix::add_collateral(
                &user.key(),
                &self.pool,
                &m.key,
                &m.oracle,
                &user.quote,
                amount,
            )],
            &[&user.kp],
        )
        .await
    }

    pub async fn remove_collateral(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        amount: u64,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        t.send(
            &[ix::remove_collateral(
                &user.key(),
                &self.pool,
                &m.key,
                &m.oracle,
                &user.quote,
                amount,
            )],
            &[&user.kp],
        )
        .await
    }

    pub async fn liquidate(
        &self,
        t: &mut TestContext,
        keeper: &User,
        market: u8,
        owner: &User,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let i = ix::liquidate(
            &keeper.key(),
            &self.pool,
            &m.key,
            &owner.key(),
            &m.oracle,
            &keeper.quote,
            &owner.quote,
            self.risk_model,
        );
        t.send(&[i], &[&keeper.kp]).await
    }

    pub async fn update_funding(&self, t: &mut TestContext, market: u8) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        t.send(&[ix::update_funding(&self.pool, &m.key, &m.oracle)], &[])
            .await
    }

    /// The pool authority creates the pool's risk model (σ may move 20 % and ρ 0.1 per commit)
    /// with `limits`; from now on the fixture's fills pass it. Returns the publisher.
    pub async fn init_risk_model(
        &mut self,
        t: &mut TestContext,
        limits: RiskLimits,
    ) -> solana_keypair::Keypair {
        let publisher = solana_keypair::Keypair::new();
        let admin = t.admin.insecure_clone();
        let args = InitRiskModelArgs {
            risk_authority: publisher.pubkey(),
            max_sigma_step_bps: 2_000,
            max_corr_step_e9: 100_000_000,
            psd_tolerance_e9: 1_000,
            limits,
        };
        t.send(
            &[ix::init_risk_model(&admin.pubkey(), &self.pool, args)],
            &[&admin],
        )
        .await
        .unwrap();
        self.risk_model = Some(ix::risk_model_pda(&self.pool));
        publisher
    }

    /// Stage σ (1e9) and R (strict upper triangle, 1e9) with a Cholesky certificate computed
    /// off-chain, and commit them with data time `as_of`.
    pub async fn publish_risk(
        &self,
        t: &mut TestContext,
        publisher: &solana_keypair::Keypair,
        sigma_e9: &[u64],
        corr_upper: &[i32],
        as_of: i64,
    ) -> Result<(), TxError> {
        let n = sigma_e9.len();
        let lower =
            keel::risk::cholesky_certificate(&keel::risk::corr_full_from_upper(corr_upper, n), n)
                .expect("a positive definite R");
        let writes = ix::stage_risk_writes(
            &publisher.pubkey(),
            &self.pool,
            sigma_e9,
            corr_upper,
            &lower,
        )
        .expect("the model fits");
        for w in writes {
            t.send(&[w], &[publisher]).await?;
        }
        t.send(
            &[ix::commit_risk(&publisher.pubkey(), &self.pool, as_of)],
            &[publisher],
        )
        .await
    }
}

/// Risk limits that never bind: IS up to 100 % of LP capital, D8X pricing.
pub fn loose_limits() -> RiskLimits {
    RiskLimits {
        max_imbalance_bps: 10_000,
        premium_mode: perp_amm::state::premium_mode::PER_MARKET,
        premium_horizon_secs: 86_400,
    }
}
