//! A pool with markets on push oracles, and the everyday actions on it.

use anchor_lang::prelude::Pubkey;
use perp_amm::events::request_outcome;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, RequestKind, RequestParams};
use solana_signer::Signer;

use crate::{TestContext, TxError, User, ix};

pub const E6: u64 = 1_000_000;
pub const E9: u64 = 1_000_000_000;
pub use perp_amm::state::MarketParams;

/// Parameters for tests: the client's reference market (5 % σ, no spread, 0.1 % fees, 20x,
/// 2.5 % maintenance), the one the SBF bench costs too.
pub use keel::client::presets::reference_market_params as default_params;

/// Lamports each fixture request pays its keeper (the test pools' minimum).
pub const KEEPER_FEE: u64 = 5_000;

/// Test pools' request settings: a 30 s window, no withdrawal delay (tests of the delay set
/// their own), a 5,000-lamport keeper fee.
pub fn test_request_params() -> RequestParams {
    RequestParams {
        order_window_secs: 30,
        withdrawal_delay_secs: 0,
        min_keeper_fee_lamports: KEEPER_FEE,
    }
}

/// A market order of `kind` in slot 0 with no price bound (for either side), the fixture's
/// keeper fee and no trigger; change fields with struct update syntax.
pub fn order(kind: RequestKind, size: i64, collateral: u64) -> PlaceOrderArgs {
    let buy = match kind {
        RequestKind::MarketIncrease | RequestKind::LimitIncrease => size > 0,
        _ => false,
    };
    PlaceOrderArgs {
        slot: 0,
        kind,
        size,
        collateral,
        acceptable_price_e9: if buy { u64::MAX } else { 0 },
        trigger_price_e9: 0,
        expires_ts: 0,
        keeper_fee: KEEPER_FEE,
        request_bump: 0,
        position_bump: 0,
    }
}

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
            requests: test_request_params(),
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
            self.republish(t, m as u8).await;
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

    /// Place a deposit request in `slot`.
    pub async fn place_deposit(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        slot: u8,
        amount: u64,
        min_shares: u64,
    ) -> Result<(), TxError> {
        let kind = RequestKind::Deposit;
        self.place_lp(t, user, lp, (slot, kind), amount, min_shares)
            .await
    }

    /// Place a withdrawal request in `slot`.
    pub async fn place_withdrawal(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        slot: u8,
        shares: u64,
        min_amount: u64,
    ) -> Result<(), TxError> {
        let kind = RequestKind::Withdraw;
        self.place_lp(t, user, lp, (slot, kind), shares, min_amount)
            .await
    }

    async fn place_lp(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        (slot, kind): (u8, RequestKind),
        amount: u64,
        min_out: u64,
    ) -> Result<(), TxError> {
        let args = PlaceLpRequestArgs {
            slot,
            kind,
            amount,
            min_out,
            keeper_fee: KEEPER_FEE,
            request_bump: 0,
        };
        let i = ix::place_lp_request(&user.key(), &self.pool, &user.quote, lp, args);
        t.send(&[i], &[&user.kp]).await
    }

    /// The owner cancels his request in slot 0 if it is still pending (an LP request the
    /// program held back): he is back where he started.
    async fn withdraw_pending(&self, t: &mut TestContext, user: &User) {
        if let Some((key, request)) = self.request(t, &user.key(), 0).await {
            let r = ix::RequestRef::of(key, &request);
            let cancel = ix::cancel_request(&user.key(), &self.pool, &r);
            t.send(&[cancel], &[&user.kp]).await.unwrap();
        }
    }

    /// The request in `owner`'s `slot`, if pending.
    pub async fn request(
        &self,
        t: &mut TestContext,
        owner: &Pubkey,
        slot: u8,
    ) -> Option<(Pubkey, perp_amm::state::Request)> {
        let key = ix::request_pda(&self.pool, owner, slot);
        let data = t.account_data(&key).await?;
        Some((key, keel::client::decode::request(&data).ok()?))
    }

    /// The keeper executes `owner`'s request in `slot` with whatever prices the oracles hold.
    /// `Ok(None)`: executed; `Ok(Some(code))`: executed and refused with `code`.
    pub async fn execute(
        &self,
        t: &mut TestContext,
        keeper: &User,
        owner: &Pubkey,
        slot: u8,
    ) -> Result<Option<u32>, TxError> {
        let Some((key, request)) = self.request(t, owner, slot).await else {
            return Err(TxError::Other(format!("no request in slot {slot}")));
        };
        let r = ix::RequestRef::of(key, &request);
        let i = if request.kind.is_lp() {
            ix::execute_lp_request(&keeper.key(), &self.pool, &r, &self.oracles())
        } else {
            let m = self.markets.iter().find(|m| m.key == request.market);
            let oracle = m.map(|m| m.oracle).unwrap_or_default();
            ix::execute_order(&keeper.key(), &self.pool, &r, &oracle, self.risk_model)
        };
        let logs = t.send_logs(&[i], &[&keeper.kp]).await?;
        let (outcome, reason) =
            keel::client::requests::outcome(&logs).expect("an execution returns its outcome");
        Ok((outcome == request_outcome::REFUSED).then_some(reason))
    }

    /// What a keeper does right after a request: `wait` seconds later (at least one),
    /// re-publish the prices it needs (the market's, or every market's for an LP request) and
    /// execute it. A refusal is returned as its error code, like a failed instruction. When the
    /// program will not execute it at all (a withdrawal held back by the reserve, a paused
    /// group), the request is withdrawn so that the owner is back where he started: his own
    /// cancel for a withdrawal, the keeper's clear once expired for a market request.
    pub async fn settle(
        &self,
        t: &mut TestContext,
        owner: &Pubkey,
        slot: u8,
        wait: i64,
    ) -> Result<(), TxError> {
        t.advance(wait.max(1));
        let (key, request) = self
            .request(t, owner, slot)
            .await
            .ok_or_else(|| TxError::Other(format!("no request in slot {slot}")))?;
        match self.markets.iter().position(|m| m.key == request.market) {
            Some(m) => self.republish(t, m as u8).await,
            None => self.refresh_prices(t).await,
        }
        let keeper = self.keeper(t).await;
        let e = match self.execute(t, &keeper, owner, slot).await {
            Ok(None) => return Ok(()),
            Ok(Some(code)) => return Err(TxError::Custom(code)),
            Err(e) => e,
        };
        let r = ix::RequestRef::of(key, &request);
        // an LP request stays for its owner to cancel (see `withdraw`)
        if !request.kind.is_lp() {
            t.advance(request.expires_ts - t.now + 1);
            let clear = ix::cancel_request(&keeper.key(), &self.pool, &r);
            t.send(&[clear], &[&keeper.kp]).await.unwrap();
        }
        Err(e)
    }

    /// The fixture's keeper (a user with no quote tokens of its own).
    pub async fn keeper(&self, t: &mut TestContext) -> User {
        User {
            kp: t.keeper.insecure_clone(),
            quote: t.keeper_quote,
        }
    }

    /// Deposit through a request executed by the keeper a second later.
    pub async fn deposit(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        amount: u64,
    ) -> Result<(), TxError> {
        self.place_deposit(t, user, lp, 0, amount, 0).await?;
        let r = self.settle(t, &user.key(), 0, 1).await;
        self.withdraw_pending(t, user).await;
        r
    }

    /// Withdraw through a request executed by the keeper once the pool's delay has passed.
    pub async fn withdraw(
        &self,
        t: &mut TestContext,
        user: &User,
        lp: &Pubkey,
        shares: u64,
    ) -> Result<(), TxError> {
        self.place_withdrawal(t, user, lp, 0, shares, 0).await?;
        let delay = t.pool(&self.pool).await.withdrawal_delay_secs as i64;
        let r = self.settle(t, &user.key(), 0, delay + 1).await;
        // held back (the reserve, a pause): the LP takes its shares back
        self.withdraw_pending(t, user).await;
        r
    }

    /// Place a trade request in `slot`.
    pub async fn place(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        args: PlaceOrderArgs,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let i = ix::place_order(&user.key(), &self.pool, &m.key, &user.quote, args);
        t.send(&[i], &[&user.kp]).await
    }

    /// A market order (`args`, in its slot) executed by the keeper a second later, at the
    /// market's current price (re-published).
    pub async fn market_order(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        args: PlaceOrderArgs,
    ) -> Result<(), TxError> {
        self.place(t, user, market, args).await?;
        self.settle(t, &user.key(), args.slot, 1).await
    }

    fn bounded(kind: RequestKind, size: i64, collateral: u64, limit: u64) -> PlaceOrderArgs {
        PlaceOrderArgs {
            acceptable_price_e9: limit,
            ..order(kind, size, collateral)
        }
    }

    pub async fn open(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        size: i64,
        collateral: u64,
    ) -> Result<(), TxError> {
        let limit = if size > 0 { u64::MAX } else { 0 };
        let kind = RequestKind::MarketIncrease;
        let args = Self::bounded(kind, size, collateral, limit);
        self.market_order(t, user, market, args).await
    }

    pub async fn increase(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        size: i64,
        collateral: u64,
    ) -> Result<(), TxError> {
        self.open(t, user, market, size, collateral).await
    }

    pub async fn decrease(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        size: u64,
        long: bool,
    ) -> Result<(), TxError> {
        let limit = if long { 0 } else { u64::MAX };
        let kind = RequestKind::MarketReduce;
        let args = Self::bounded(kind, size as i64, 0, limit);
        self.market_order(t, user, market, args).await
    }

    pub async fn close(
        &self,
        t: &mut TestContext,
        user: &User,
        market: u8,
        long: bool,
    ) -> Result<(), TxError> {
        let limit = if long { 0 } else { u64::MAX };
        let kind = RequestKind::MarketReduce;
        let args = Self::bounded(kind, 0, 0, limit);
        self.market_order(t, user, market, args).await
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
        let kind = RequestKind::RemoveCollateral;
        let args = Self::bounded(kind, 0, amount, 0);
        self.market_order(t, user, market, args).await
    }

    /// Re-publish one market's current price at the current time.
    pub async fn republish(&self, t: &mut TestContext, market: u8) {
        let m = &self.markets[market as usize];
        let data = t.account_data(&m.oracle).await.unwrap();
        let oracle: perp_amm::state::PushOracle =
            anchor_lang::AccountDeserialize::try_deserialize(&mut &data[..]).unwrap();
        let scale = 10f64.powi(-m.expo);
        self.set_price(
            t,
            market,
            oracle.price as f64 / scale,
            oracle.conf as f64 / scale,
        )
        .await;
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

    /// Bring `owner`'s position in `market` down to the leverage it may hold over the coming
    /// close (`reduce_before_close`).
    pub async fn reduce_before_close(
        &self,
        t: &mut TestContext,
        keeper: &User,
        market: u8,
        owner: &User,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let i = ix::reduce_before_close(
            &keeper.key(),
            &self.pool,
            &m.key,
            &owner.key(),
            &m.oracle,
            &owner.quote,
            self.risk_model,
        );
        t.send(&[i], &[&keeper.kp]).await
    }

    /// Auto-deleverage up to `size` of `owner`'s position in `market`, every oracle attached.
    pub async fn deleverage(
        &self,
        t: &mut TestContext,
        keeper: &User,
        market: u8,
        owner: &User,
        size: u64,
    ) -> Result<(), TxError> {
        let m = &self.markets[market as usize];
        let i = ix::deleverage(
            &keeper.key(),
            &self.pool,
            &m.key,
            &owner.key(),
            &m.oracle,
            &owner.quote,
            self.risk_model,
            &self.oracles(),
            size,
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
