//! Every instruction's bad inputs: each gets its specific error code and changes nothing (the
//! raw lamports and data of every account involved are compared before and after).
//!
//! Where several bad inputs are tried against the same state they stand as a table of cases,
//! `(what, instruction, signers, code)`, sent in order by [`refused_all`]; the state-changing
//! steps between tables stay where they were.
//!
//! Trades and LP actions are requests: placing one and executing one are two instructions with
//! bad inputs of their own. A fill the engine refuses at execution (leverage, slippage, margin,
//! caps) is not a failed instruction: the execution succeeds, closes the request and refunds its
//! escrow, and the market keeps the price it used. Those are checked with [`books`]: everything
//! but the keeper's fee and the market's last used price is as it was before the request.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use keel::transport::TxError;
use keel_tests::fixture::{
    E6, E9, KEEPER_FEE, MarketFixture, MarketParams, PerpFixture, default_params, order,
    test_request_params,
};
use keel_tests::{TestContext, User, anchor, assert_code, ix, perp};
use perp_amm::errors::PerpError::*;
use perp_amm::instructions::*;
use perp_amm::state::{
    OracleKind, PRICE_UPDATE_V2_DISCRIMINATOR, PYTH_RECEIVER_ID, RequestKind, RequestParams, pause,
};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use RequestKind::*;

struct World {
    t: TestContext,
    f: PerpFixture,
    lp: User,
    lp_acct: Pubkey,
    trader: User,
    other: User,
    keeper: User,
}

impl World {
    /// A pool with two markets (100 and 2,000), 100k of LP capital and one open long (10 at 100
    /// on 100 of margin), every request executed by the fixture's keeper.
    async fn new() -> Self {
        let mut t = TestContext::new().await;
        let f = PerpFixture::new(&mut t, &[100.0, 2_000.0]).await;
        let lp = t.user(200_000 * E6).await;
        let lp_acct = f.lp_account(&mut t, &lp).await;
        f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
            .await
            .unwrap();
        let trader = t.user(10_000 * E6).await;
        f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
            .await
            .unwrap();
        let other = t.user(10_000 * E6).await;
        let keeper = t.user(0).await;
        World {
            t,
            f,
            lp,
            lp_acct,
            trader,
            other,
            keeper,
        }
    }

    fn watched(&self) -> Vec<Pubkey> {
        let mut keys = vec![
            self.f.pool,
            self.f.vault,
            self.f.lp_mint,
            ix::lp_escrow_pda(&self.f.pool),
            self.lp.quote,
            self.lp_acct,
            self.trader.quote,
        ];
        keys.extend([
            self.lp.key(),
            self.trader.key(),
            self.other.quote,
            self.other.key(),
            self.keeper.quote,
            self.keeper.key(),
        ]);
        // the request slots the tests use
        for owner in [self.lp.key(), self.trader.key(), self.other.key()] {
            keys.extend((0..4).map(|slot| ix::request_pda(&self.f.pool, &owner, slot)));
        }
        for m in &self.f.markets {
            keys.extend([
                m.key,
                m.oracle,
                self.f.position(m.index, &self.trader.key()),
                self.f.position(m.index, &self.other.key()),
                ix::market_change_pda(&m.key),
            ]);
        }
        keys
    }

    /// A keeper's fresh print: a second later, every market's price re-published.
    async fn tick(&mut self) {
        self.t.advance(1);
        self.f.refresh_prices(&mut self.t).await;
    }

    /// The pending request in `owner`'s `slot`, as a keeper names it.
    async fn request(&mut self, owner: &Pubkey, slot: u8) -> ix::RequestRef {
        let (key, r) = self
            .f
            .request(&mut self.t, owner, slot)
            .await
            .expect("a pending request");
        ix::RequestRef::of(key, &r)
    }

    async fn set_pause(&mut self, flags: u8) {
        let admin = self.t.admin.insecure_clone();
        let pool = self.f.pool;
        self.t
            .send(&[ix::set_pause(&admin.pubkey(), &pool, flags)], &[&admin])
            .await
            .unwrap();
    }

    async fn update_market(&mut self, market: u8, params: MarketParams) {
        let admin = self.t.admin.insecure_clone();
        let m = &self.f.markets[market as usize];
        let (pool, key, oracle) = (self.f.pool, m.key, m.oracle);
        self.t
            .send(
                &[ix::update_market(
                    &admin.pubkey(),
                    &pool,
                    &key,
                    &oracle,
                    params,
                )],
                &[&admin],
            )
            .await
            .unwrap();
    }
}

/// One bad input: what it is, the instruction, who signs it, and the error code it must fail with.
type Case<'a> = (&'a str, Instruction, &'a [&'a Keypair], u32);

/// Send `ix` signed by `signers`; it must fail with `code` and no watched account may change.
/// `what` names the case in a failure.
async fn refused(w: &mut World, what: &str, ix: Instruction, signers: &[&Keypair], code: u32) {
    refused_as(w, what, ix, signers, TxError::Custom(code)).await
}

/// [`refused`] with the transaction error expected in full (the runtime's, not a program's).
async fn refused_as(
    w: &mut World,
    what: &str,
    ix: Instruction,
    signers: &[&Keypair],
    expected: TxError,
) {
    let keys = w.watched();
    let before = w.t.snapshot(&keys).await;
    let result = w.t.send(&[ix], signers).await;
    assert_eq!(result, Err(expected), "{what}");
    let after = w.t.snapshot(&keys).await;
    assert!(
        before == after,
        "{what}: a rejected instruction changed state"
    );
}

/// Each case in turn, in the order given, through [`refused`].
async fn refused_all<const N: usize>(w: &mut World, cases: [Case<'_>; N]) {
    for (what, ix, signers, code) in cases {
        refused(w, what, ix, signers, code).await;
    }
}

/// A request slot that holds a pending request.
fn account_exists() -> TxError {
    TxError::Custom(perp(RequestSlotInUse))
}

/// `ix` with the account at `index` replaced by `key`.
fn with_account(mut ix: Instruction, index: usize, key: Pubkey) -> Instruction {
    ix.accounts[index].pubkey = key;
    ix
}

fn params_with(f: impl FnOnce(&mut MarketParams)) -> MarketParams {
    let mut p = default_params();
    f(&mut p);
    p
}

/// A trigger order's arguments in `slot`, good for a day.
fn trigger(
    kind: RequestKind,
    slot: u8,
    size: i64,
    collateral: u64,
    trigger_e9: u64,
    now: i64,
) -> PlaceOrderArgs {
    PlaceOrderArgs {
        slot,
        trigger_price_e9: trigger_e9,
        expires_ts: now + 86_400,
        ..order(kind, size, collateral)
    }
}

async fn lamports(t: &mut TestContext, key: &Pubkey) -> u64 {
    let account = t.ctx.banks_client.get_account(*key).await.unwrap();
    account.map_or(0, |a| a.lamports)
}

/// What a refused fill leaves as it was: the token balances named (the owner's, the vault, the
/// LP escrow), the LP supply, the owner's positions, and the pool but for the publish time of
/// the price its execution used (`markets[i].last_price_ts`: a refusal still uses the print, so
/// no keeper can later pick an older one).
struct Books {
    balances: Vec<u64>,
    lp_supply: u64,
    /// lp_capital, default_fund, total_collateral, request_escrow.
    accounting: (u64, u64, u64, u64),
    pool: Vec<u8>,
    positions: Vec<Option<Vec<u8>>>,
}

async fn books(t: &mut TestContext, f: &PerpFixture, owner: &Pubkey, tokens: &[Pubkey]) -> Books {
    let mut balances = vec![t.balance(&f.vault).await];
    balances.push(t.balance(&ix::lp_escrow_pda(&f.pool)).await);
    for k in tokens {
        balances.push(t.balance(k).await);
    }
    let mut pool = t.pool(&f.pool).await;
    let accounting = (
        pool.lp_capital,
        pool.default_fund,
        pool.total_collateral,
        pool.request_escrow,
    );
    for m in pool.markets.iter_mut() {
        m.last_price_ts = 0;
    }
    let mut positions = vec![];
    for m in &f.markets {
        positions.push(t.account_data(&f.position(m.index, owner)).await);
    }
    Books {
        balances,
        lp_supply: t.lp_supply(&f.lp_mint).await,
        accounting,
        pool: bytemuck::bytes_of(&pool).to_vec(),
        positions,
    }
}

#[track_caller]
fn assert_same_books(what: &str, before: &Books, after: &Books) {
    assert_eq!(before.balances, after.balances, "{what}: token balances");
    assert_eq!(before.lp_supply, after.lp_supply, "{what}: LP supply");
    assert_eq!(
        before.accounting, after.accounting,
        "{what}: lp_capital, default_fund, total_collateral, request_escrow"
    );
    assert!(before.pool == after.pool, "{what}: the pool changed");
    assert!(
        before.positions == after.positions,
        "{what}: a position changed"
    );
}

/// A trade the engine refuses at execution: `what`, whose order, its kind, size, collateral and
/// acceptable price, and the refusal's code.
type Refusal<'a> = (&'a str, &'a User, RequestKind, i64, u64, u64, u32);

/// Each market order in turn, placed and executed by the fixture's keeper a second later in
/// market 0: each must be refused with its code and leave the books as they were.
async fn fills_refused(t: &mut TestContext, f: &PerpFixture, cases: &[Refusal<'_>]) {
    for &(what, user, kind, size, collateral, acceptable, code) in cases {
        let before = books(t, f, &user.key(), &[user.quote]).await;
        let args = PlaceOrderArgs {
            acceptable_price_e9: acceptable,
            ..order(kind, size, collateral)
        };
        let r = f.market_order(t, user, 0, args).await;
        assert_eq!(r, Err(TxError::Custom(code)), "{what}: expected {code}");
        assert!(f.request(t, &user.key(), 0).await.is_none(), "{what}");
        assert_same_books(
            what,
            &before,
            &books(t, f, &user.key(), &[user.quote]).await,
        );
    }
}

/// A Pyth `PriceUpdateV2` account's data (Borsh layout of the receiver program), fully verified.
fn price_update(feed_id: [u8; 32], price: i64, expo: i32, publish_time: i64) -> Vec<u8> {
    let mut d = PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
    d.extend_from_slice(&[3u8; 32]); // write authority
    d.push(1); // VerificationLevel::Full
    d.extend_from_slice(&feed_id);
    d.extend_from_slice(&price.to_le_bytes());
    d.extend_from_slice(&0u64.to_le_bytes()); // conf
    d.extend_from_slice(&expo.to_le_bytes());
    d.extend_from_slice(&publish_time.to_le_bytes());
    d.extend_from_slice(&publish_time.to_le_bytes()); // prev publish time
    d.extend_from_slice(&price.to_le_bytes()); // ema price
    d.extend_from_slice(&0u64.to_le_bytes()); // ema conf
    d.extend_from_slice(&1u64.to_le_bytes()); // posted slot
    d
}

#[tokio::test]
async fn init_pool_bad_parameters() {
    let mut t = TestContext::new().await;
    let admin = t.admin.insecure_clone();
    let mint = t.quote_mint;
    let good = InitPoolArgs {
        pool_id: 7,
        lp_fee_share_bps: 8_000,
        target_default_prob_e9: E9 / 100,
        min_deposit: 10 * E6,
        oracle_authority: admin.pubkey(),
        requests: keel::client::presets::request_params(),
    };
    let pool = ix::pool_pda(&mint, 7);
    for bad in [
        InitPoolArgs {
            lp_fee_share_bps: 10_001,
            ..good
        },
        InitPoolArgs {
            target_default_prob_e9: 0,
            ..good
        },
        InitPoolArgs {
            target_default_prob_e9: E9 / 2,
            ..good
        },
        InitPoolArgs {
            min_deposit: 1_000,
            ..good
        },
        InitPoolArgs {
            requests: RequestParams {
                order_window_secs: 0,
                ..good.requests
            },
            ..good
        },
    ] {
        let r = t
            .send(&[ix::init_pool(&admin.pubkey(), &mint, bad)], &[&admin])
            .await;
        assert_code(r, perp(InvalidParameter));
        assert!(t.account_data(&pool).await.is_none(), "nothing created");
    }
    t.send(&[ix::init_pool(&admin.pubkey(), &mint, good)], &[&admin])
        .await
        .unwrap();
    // a second init of the same pool fails (the account exists) and leaves it as it was
    let before = t.snapshot(&[pool]).await;
    assert!(
        t.send(&[ix::init_pool(&admin.pubkey(), &mint, good)], &[&admin])
            .await
            .is_err()
    );
    assert_eq!(before, t.snapshot(&[pool]).await);
}

#[tokio::test]
async fn add_and_update_market_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let pool = w.f.pool;
    let oracle = w.f.markets[0].oracle;
    let feed_id = w.f.markets[0].feed_id;
    let add = |signer: &Pubkey, params: MarketParams, feed_id: [u8; 32], oracle: &Pubkey| {
        ix::add_market(
            signer,
            &pool,
            2,
            oracle,
            AddMarketArgs {
                symbol: [0; 16],
                base_decimals: 6,
                oracle_kind: OracleKind::Push,
                feed_id,
                params,
            },
        )
    };
    let by_admin: &[&Keypair] = &[&admin];
    // not the authority
    let intruder = w.other.kp.insecure_clone();
    let by_intruder: &[&Keypair] = &[&intruder];
    let ix = add(&intruder.pubkey(), default_params(), feed_id, &oracle);
    refused(&mut w, "intruder adds", ix, by_intruder, perp(Unauthorized)).await;
    // invalid parameters, one at a time, each named by its assignment
    macro_rules! bad {
        ($field:ident = $value:expr) => {
            (
                stringify!($field = $value),
                params_with(|p| p.$field = $value),
            )
        };
    }
    let bad = [
        bad!(max_leverage = 0),
        bad!(maintenance_margin_bps = 600), // 600 bps × 20x ≥ 100 %: no room
        bad!(capital_share_e9 = 0),
        bad!(sigma_e9 = 0),
        bad!(max_default_prob_e9 = E9 / 2),
        bad!(max_age_close_secs = 10),   // below the open age
        bad!(liquidation_fee_bps = 300), // above maintenance
        bad!(max_long_oi = 0),
    ];
    for (what, params) in bad {
        let ix = add(&admin.pubkey(), params, feed_id, &oracle);
        refused(&mut w, what, ix, by_admin, perp(InvalidParameter)).await;
    }
    let add_default =
        |feed_id, oracle: &Pubkey| add(&admin.pubkey(), default_params(), feed_id, oracle);
    let mut other_feed = feed_id;
    other_feed[5] = 9;
    let lp_mint = w.f.lp_mint;
    let (market, market_oracle) = (w.f.markets[0].key, w.f.markets[0].oracle);
    let update =
        |signer: &Pubkey, params| ix::update_market(signer, &pool, &market, &market_oracle, params);
    let (a, i) = (admin.pubkey(), intruder.pubkey());
    let leverage_5000 = params_with(|p| p.max_leverage = 5_000);
    #[rustfmt::skip]
    refused_all(&mut w, [
        // the oracle account must carry the stated feed id
        ("another feed id", add_default(other_feed, &oracle), by_admin, perp(WrongOracle)),
        // an account that is not a price account at all
        ("the LP mint as the oracle", add_default(feed_id, &lp_mint), by_admin, perp(WrongOracle)),
        // update_market: intruder, bad parameters
        ("intruder updates", update(&i, default_params()), by_intruder, perp(Unauthorized)),
        ("max_leverage = 5_000", update(&a, leverage_5000), by_admin, perp(InvalidParameter)),
    ]).await;
}

/// The announced market changes (issue #19): `update_market` refuses what worsens open
/// positions; `propose_market_change`, `apply_market_change` and `cancel_market_change` refuse
/// strangers, bad and oversized parameters, a second proposal, applying early, late, twice,
/// after the market changed, while closing is paused or just resumed, and cancelling nothing.
#[tokio::test]
async fn market_change_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let intruder = w.other.kp.insecure_clone();
    let (pool, market, oracle) = (w.f.pool, w.f.markets[0].key, w.f.markets[0].oracle);
    let (a, i) = (admin.pubkey(), intruder.pubkey());
    let by_admin: &[&Keypair] = &[&admin];
    let by_intruder: &[&Keypair] = &[&intruder];
    let propose =
        |signer: &Pubkey, params| ix::propose_market_change(signer, &pool, &market, params);
    let update = |params| ix::update_market(&a, &pool, &market, &oracle, params);
    let apply = || ix::apply_market_change(&pool, &market, &oracle);
    let cancel = |signer: &Pubkey| ix::cancel_market_change(signer, &pool, &market);
    let hike = params_with(|p| p.maintenance_margin_bps = 300);
    // a worsening step of each kind at once, and one beyond its bound announced
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("maintenance up at once", update(hike), by_admin, perp(ChangeNeedsNotice)),
        ("leverage down at once", update(params_with(|p| p.max_leverage = 19)), by_admin, perp(ChangeNeedsNotice)),
        ("close fee up at once", update(params_with(|p| p.close_fee_bps = 11)), by_admin, perp(ChangeNeedsNotice)),
        ("liquidation fee up at once", update(params_with(|p| p.liquidation_fee_bps = 51)), by_admin, perp(ChangeNeedsNotice)),
        ("half-spread up at once", update(params_with(|p| p.half_spread_e9 = 1)), by_admin, perp(ChangeNeedsNotice)),
        ("funding up at once", update(params_with(|p| p.max_funding_rate_e9 = E9 / 999)), by_admin, perp(ChangeNeedsNotice)),
        ("close price age down at once", update(params_with(|p| p.max_age_close_secs = 599)), by_admin, perp(ChangeNeedsNotice)),
        // σ and the capital share set what every reduction is charged or refunded: either way
        ("σ up at once", update(params_with(|p| p.sigma_e9 = 51_000_000)), by_admin, perp(ChangeNeedsNotice)),
        ("σ down at once", update(params_with(|p| p.sigma_e9 = 49_000_000)), by_admin, perp(ChangeNeedsNotice)),
        ("capital share down at once", update(params_with(|p| p.capital_share_e9 = 450_000_000)), by_admin, perp(ChangeNeedsNotice)),
        ("smallest position up at once", update(params_with(|p| p.min_position_size = 1_001)), by_admin, perp(ChangeNeedsNotice)),
        ("σ ×2 announced", propose(&a, params_with(|p| p.sigma_e9 = 100_000_000)), by_admin, perp(ChangeTooLarge)),
        ("intruder proposes", propose(&i, hike), by_intruder, perp(Unauthorized)),
        ("bad parameters", propose(&a, params_with(|p| p.max_leverage = 0)), by_admin, perp(InvalidParameter)),
        ("maintenance 250 → 400", propose(&a, params_with(|p| p.maintenance_margin_bps = 400)), by_admin, perp(ChangeTooLarge)),
        ("leverage 20 → 15", propose(&a, params_with(|p| p.max_leverage = 15)), by_admin, perp(ChangeTooLarge)),
        ("open fee 10 → 16 bp", propose(&a, params_with(|p| p.open_fee_bps = 16)), by_admin, perp(ChangeTooLarge)),
        ("funding 0.1 → 0.25 %/day", propose(&a, params_with(|p| p.max_funding_rate_e9 = E9 / 400)), by_admin, perp(ChangeTooLarge)),
        ("close age 600 → 299 s", propose(&a, params_with(|p| p.max_age_close_secs = 299)), by_admin, perp(ChangeTooLarge)),
        // nothing proposed yet: the change account does not exist
        ("apply nothing", apply(), &[], anchor(AnchorError::AccountNotInitialized)),
    ]).await;
    // a market with no open interest has no terms to worsen: any valid change applies at once
    w.update_market(1, params_with(|p| p.maintenance_margin_bps = 400))
        .await;
    w.update_market(1, default_params()).await;
    // improving (or neutral) changes still apply at once: maintenance down, a cap up and back
    let lower = params_with(|p| p.maintenance_margin_bps = 240);
    w.update_market(0, lower).await;
    w.update_market(
        0,
        MarketParams {
            max_long_oi: 2_000_000 * E6,
            ..lower
        },
    )
    .await;
    w.update_market(0, lower).await;
    w.t.send(&[propose(&a, hike)], by_admin).await.unwrap();
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a second proposal", propose(&a, hike), by_admin, perp(ChangePending)),
        ("applied early", apply(), &[], perp(ChangeNotDue)),
        ("intruder cancels", cancel(&i), by_intruder, perp(Unauthorized)),
    ]).await;
    w.t.send(&[cancel(&a)], by_admin).await.unwrap();
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("cancel nothing", cancel(&a), by_admin, perp(NoPendingChange)),
        ("apply a cancelled change", apply(), &[], perp(NoPendingChange)),
    ]).await;
    // a change applied a week after it was due comes too late
    w.t.send(&[propose(&a, hike)], by_admin).await.unwrap();
    w.t.advance(86_400 + 7 * 86_400 + 1);
    w.f.refresh_prices(&mut w.t).await;
    refused(
        &mut w,
        "applied too late",
        apply(),
        &[],
        perp(ChangeExpired),
    )
    .await;
    w.t.send(&[cancel(&a)], by_admin).await.unwrap();
    // the market changed since (maintenance lowered at once to 200): the change applies only
    // onto the parameters it was announced against, not undoing what came after
    w.t.send(&[propose(&a, hike)], by_admin).await.unwrap();
    w.update_market(0, params_with(|p| p.maintenance_margin_bps = 200))
        .await;
    w.t.advance(86_400);
    w.f.refresh_prices(&mut w.t).await;
    refused(&mut w, "changed since", apply(), &[], perp(ChangeOutdated)).await;
    // announced again from 200; a day later closing is paused: no change applies while traders
    // cannot act, and a full day's notice runs again from when closing resumes
    w.t.send(&[cancel(&a)], by_admin).await.unwrap();
    w.t.send(&[propose(&a, default_params())], by_admin)
        .await
        .unwrap();
    w.t.advance(86_400);
    w.f.refresh_prices(&mut w.t).await;
    w.set_pause(pause::CLOSE).await;
    refused(&mut w, "closing paused", apply(), &[], perp(Paused)).await;
    w.set_pause(0).await;
    refused(&mut w, "just resumed", apply(), &[], perp(ChangeNotDue)).await;
    w.t.advance(86_400);
    w.f.refresh_prices(&mut w.t).await;
    // 250 applies, by anyone, once
    w.t.send(&[apply()], &[]).await.unwrap();
    assert_eq!(w.t.market(&market).await.params, default_params());
    refused(&mut w, "applied twice", apply(), &[], perp(NoPendingChange)).await;
}

#[tokio::test]
async fn pool_holds_at_most_32_markets() {
    let mut t = TestContext::new().await;
    let prices = vec![10.0; 32];
    let mut f = PerpFixture::new(&mut t, &prices).await;
    assert_eq!(t.pool(&f.pool).await.market_count, 32);
    // the 33rd: its PDA seed index 32 exists, but the pool refuses it
    let admin = t.admin.insecure_clone();
    let oracle_auth = t.oracle_authority.insecure_clone();
    let feed_id = [33u8; 32];
    t.send(
        &[ix::init_push_oracle(
            &oracle_auth.pubkey(),
            &f.pool,
            feed_id,
            -6,
        )],
        &[&oracle_auth],
    )
    .await
    .unwrap();
    let oracle = ix::push_oracle_pda(&f.pool, &feed_id);
    let args = AddMarketArgs {
        symbol: [0; 16],
        base_decimals: 6,
        oracle_kind: OracleKind::Push,
        feed_id,
        params: default_params(),
    };
    let before = t.snapshot(&[f.pool]).await;
    let r = t
        .send(
            &[ix::add_market(&admin.pubkey(), &f.pool, 32, &oracle, args)],
            &[&admin],
        )
        .await;
    assert_code(r, perp(TooManyMarkets));
    assert_eq!(before, t.snapshot(&[f.pool]).await);
    f.markets.truncate(32);
}

#[tokio::test]
async fn admin_switches_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let intruder = w.other.kp.insecure_clone();
    let pool = w.f.pool;
    let (a, i) = (admin.pubkey(), intruder.pubkey());
    let (by_admin, by_intruder): (&[&Keypair], &[&Keypair]) = (&[&admin], &[&intruder]);
    let accept = || ix::accept_authority(&i, &pool);
    let requests = |f: fn(&mut RequestParams)| {
        let mut p = test_request_params();
        f(&mut p);
        p
    };
    let set_requests = |by: &Pubkey, p| ix::set_request_params(by, &pool, p);
    let no_window = requests(|p| p.order_window_secs = 0);
    let long_window = requests(|p| p.order_window_secs = 3_601);
    let long_delay = requests(|p| p.withdrawal_delay_secs = 30 * 86_400 + 1);
    let dear_keeper = requests(|p| p.min_keeper_fee_lamports = 10_000_001);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("intruder sets the request params", set_requests(&i, test_request_params()), by_intruder, perp(Unauthorized)),
        ("no execution window", set_requests(&a, no_window), by_admin, perp(InvalidParameter)),
        ("a window over an hour", set_requests(&a, long_window), by_admin, perp(InvalidParameter)),
        ("a delay over 30 days", set_requests(&a, long_delay), by_admin, perp(InvalidParameter)),
        ("a keeper fee over 0.01 SOL", set_requests(&a, dear_keeper), by_admin, perp(InvalidParameter)),
        ("intruder pauses", ix::set_pause(&i, &pool, pause::ALL), by_intruder, perp(Unauthorized)),
        ("an unknown pause flag", ix::set_pause(&a, &pool, 0x80), by_admin, perp(InvalidParameter)),
        ("intruder proposes", ix::propose_authority(&i, &pool, i), by_intruder, perp(Unauthorized)),
        // accepting with nothing pending, then by someone who was not proposed
        ("accepted with nothing pending", accept(), by_intruder, perp(NotPendingAuthority)),
    ]).await;
    w.t.send(
        &[ix::propose_authority(
            &admin.pubkey(),
            &pool,
            w.keeper.key(),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let (what, ix) = ("accepted by someone not proposed", accept());
    refused(&mut w, what, ix, by_intruder, perp(NotPendingAuthority)).await;
}

#[tokio::test]
async fn push_oracle_bad_inputs() {
    let mut w = World::new().await;
    let pool = w.f.pool;
    let oracle = w.f.markets[0].oracle;
    let intruder = w.other.kp.insecure_clone();
    let auth = w.t.oracle_authority.insecure_clone();
    let now = w.t.now;
    let args = PushPriceArgs {
        price: 1,
        conf: 0,
        publish_time: now,
    };
    let zero = PushPriceArgs { price: 0, ..args };
    let back = PushPriceArgs {
        price: 100,
        conf: 0,
        publish_time: now - 1,
    };
    // stamped after the cluster's clock, it would never go stale and no later price could follow
    let ahead = PushPriceArgs {
        price: 100,
        conf: 0,
        publish_time: now + 1,
    };
    let (a, i) = (auth.pubkey(), intruder.pubkey());
    let (by_auth, by_intruder): (&[&Keypair], &[&Keypair]) = (&[&auth], &[&intruder]);
    let push = |signer: &Pubkey, args| ix::update_push_oracle(signer, &pool, &oracle, args);
    let init = |signer: &Pubkey, feed_id, expo| ix::init_push_oracle(signer, &pool, feed_id, expo);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("an intruder's price", push(&i, args), by_intruder, perp(NotOracleAuthority)),
        ("a zero price", push(&a, zero), by_auth, perp(InvalidOraclePrice)),
        ("an older publish time", push(&a, back), by_auth, perp(OracleNotMonotonic)),
        ("a future publish time", push(&a, ahead), by_auth, perp(OracleInFuture)),
        ("an intruder's oracle", init(&i, [77; 32], -6), by_intruder, perp(NotOracleAuthority)),
        ("an exponent of 3", init(&a, [78; 32], 3), by_auth, perp(InvalidParameter)),
    ]).await;
}

#[tokio::test]
async fn place_lp_request_bad_inputs() {
    let mut w = World::new().await;
    let pool = w.f.pool;
    let lp = w.lp.kp.insecure_clone();
    let (quote, lp_acct) = (w.lp.quote, w.lp_acct);
    let (shares, held) = (w.t.balance(&lp_acct).await, w.t.balance(&quote).await);
    // the fixture pool's minimums: 10 quote a deposit, the fixture's fee a request
    let p = w.t.pool(&pool).await;
    assert_eq!(
        (p.min_deposit, p.min_keeper_fee_lamports),
        (10 * E6, KEEPER_FEE)
    );
    let deposit = PlaceLpRequestArgs {
        slot: 0,
        kind: Deposit,
        amount: 100 * E6,
        min_out: 0,
        keeper_fee: KEEPER_FEE,
        request_bump: 0,
    };
    let withdrawal = PlaceLpRequestArgs {
        kind: Withdraw,
        amount: E6,
        ..deposit
    };
    let place = |args| ix::place_lp_request(&lp.pubkey(), &pool, &quote, &lp_acct, args);
    let place_from = |quote: &Pubkey, lp_acct: &Pubkey| {
        ix::place_lp_request(&lp.pubkey(), &pool, quote, lp_acct, deposit)
    };
    // the LP token account must be of the LP mint, the quote account of the quote mint
    let (lp_mint, quote_mint) = (w.f.lp_mint, w.t.quote_mint);
    let second_lp = w.t.create_token_account(&lp_mint, &lp.pubkey()).await;
    let second_quote = w.t.create_token_account(&quote_mint, &lp.pubkey()).await;
    let other_quote = w.other.quote;
    let by_lp: &[&Keypair] = &[&lp];
    let not_owner = anchor(AnchorError::ConstraintTokenOwner);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a deposit of nothing", place(PlaceLpRequestArgs { amount: 0, ..deposit }), by_lp, perp(ZeroAmount)),
        ("a withdrawal of nothing", place(PlaceLpRequestArgs { amount: 0, ..withdrawal }), by_lp, perp(ZeroAmount)),
        ("1 quote, below the minimum", place(PlaceLpRequestArgs { amount: E6, ..deposit }), by_lp, perp(DepositTooSmall)),
        ("a share more than held", place(PlaceLpRequestArgs { amount: shares + 1, ..withdrawal }), by_lp, perp(InsufficientShares)),
        ("a trade kind", place(PlaceLpRequestArgs { kind: MarketIncrease, ..deposit }), by_lp, perp(WrongRequestKind)),
        ("slot 16", place(PlaceLpRequestArgs { slot: 16, ..deposit }), by_lp, perp(RequestSlotOutOfRange)),
        ("a fee below the pool's minimum", place(PlaceLpRequestArgs { keeper_fee: KEEPER_FEE - 1, ..deposit }), by_lp, perp(KeeperFeeTooLow)),
        ("an LP account as the quote one", place_from(&second_lp, &lp_acct), by_lp, perp(WrongMint)),
        ("a quote account as the LP one", place_from(&quote, &second_quote), by_lp, perp(WrongMint)),
        // someone else's token account, to pay from or to be paid into
        ("another's quote account", place_from(&other_quote, &lp_acct), by_lp, not_owner),
        // a token account of the quote mint that is not the pool's
        ("not the pool's vault", with_account(place(deposit), 3, second_quote), by_lp, perp(WrongVault)),
        // more than the LP holds: the SPL Token program refuses the transfer (InsufficientFunds)
        ("a quote more than the LP holds", place(PlaceLpRequestArgs { amount: held + 1, ..deposit }), by_lp, 1),
    ]).await;
    // a slot holds one request: a second one there cannot create the request account
    w.t.send(&[place(deposit)], &[&lp]).await.unwrap();
    let (what, ix) = ("a slot in use", place(withdrawal));
    refused_as(&mut w, what, ix, by_lp, account_exists()).await;
    // paused
    w.set_pause(pause::LP).await;
    let donate = ix::fund_default_fund(&lp.pubkey(), &pool, &quote, E6);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a deposit", place(PlaceLpRequestArgs { slot: 1, ..deposit }), by_lp, perp(Paused)),
        ("a withdrawal", place(PlaceLpRequestArgs { slot: 1, ..withdrawal }), by_lp, perp(Paused)),
        ("a default fund donation", donate, by_lp, perp(Paused)),
    ]).await;
}

#[tokio::test]
async fn execute_lp_request_bad_inputs() {
    let mut w = World::new().await;
    let (pool, oracles) = (w.f.pool, w.f.oracles());
    let (o0, o1) = (oracles[0], oracles[1]);
    let (lp_key, lp_quote, lp_acct) = (w.lp.key(), w.lp.quote, w.lp_acct);
    let keeper = w.keeper.kp.insecure_clone();
    w.f.place_deposit(&mut w.t, &w.lp, &lp_acct, 0, 100 * E6, 0)
        .await
        .unwrap();
    let r = w.request(&lp_key, 0).await;
    assert_eq!((r.pay_to, r.refund_to), (lp_acct, lp_quote));
    let exec = |r: &ix::RequestRef, oracles: &[Pubkey]| {
        ix::execute_lp_request(&keeper.pubkey(), &pool, r, oracles)
    };
    let lp_mint = w.f.lp_mint;
    let other_key = w.other.key();
    let other_lp = w.t.create_token_account(&lp_mint, &other_key).await;
    let to_other = ix::RequestRef {
        pay_to: other_lp,
        ..r
    };
    let refund_other = ix::RequestRef {
        refund_to: w.other.quote,
        ..r
    };
    // a trade request is execute_order's: the handler checks the kind
    let other = w.other.kp.insecure_clone();
    let (market, other_quote) = (w.f.markets[0].key, w.other.quote);
    let args = order(MarketIncrease, E6 as i64, 100 * E6);
    let trade = ix::place_order(&other.pubkey(), &pool, &market, &other_quote, args);
    w.t.send(&[trade], &[&other]).await.unwrap();
    let trade = w.request(&other_key, 0).await;
    let by_keeper: &[&Keypair] = &[&keeper];
    let mismatch = perp(MarketAccountsMismatch);
    let payout = perp(WrongPayoutAccount);
    // never in the second it was placed, whatever the prints
    let (what, ix) = ("in the second it was placed", exec(&r, &oracles));
    refused(&mut w, what, ix, by_keeper, perp(RequestNotReady)).await;
    // a second later, with market 0's print still the one from the second of the request
    w.t.advance(1);
    #[rustfmt::skip]
    refused_all(&mut w, [
        // every active market's oracle, in order, and nothing else
        ("one oracle of two", exec(&r, &oracles[..1]), by_keeper, mismatch),
        ("the oracles swapped", exec(&r, &[o1, o0]), by_keeper, mismatch),
        ("an oracle too many", exec(&r, &[o0, o1, o0]), by_keeper, mismatch),
        ("a price published before the request", exec(&r, &oracles), by_keeper, perp(PriceBeforeRequest)),
        ("the shares to another's LP account", exec(&to_other, &oracles), by_keeper, payout),
        ("the refund to another's quote account", exec(&refund_other, &oracles), by_keeper, payout),
        ("a trade request", exec(&trade, &oracles), by_keeper, perp(WrongRequestKind)),
    ]).await;
    // a print published after the request, but 11 s old by execution
    w.tick().await;
    w.t.advance(11);
    let (what, ix) = ("a price 11 s old", exec(&r, &oracles));
    refused(&mut w, what, ix, by_keeper, perp(ExecutionPriceTooOld)).await;
    w.f.refresh_prices(&mut w.t).await;
    w.set_pause(pause::LP).await;
    let ix = exec(&r, &oracles);
    refused(&mut w, "paused", ix, by_keeper, perp(Paused)).await;
    w.set_pause(0).await;
    // executed once; the second time the request is gone
    w.t.send(&[exec(&r, &oracles)], &[&keeper]).await.unwrap();
    let what = "a second execution";
    let gone = anchor(AnchorError::AccountNotInitialized);
    refused(&mut w, what, exec(&r, &oracles), by_keeper, gone).await;

    // a deposit lives for the pool's 30 s window
    w.f.place_deposit(&mut w.t, &w.lp, &lp_acct, 1, 100 * E6, 0)
        .await
        .unwrap();
    let late = w.request(&lp_key, 1).await;
    w.t.advance(test_request_params().order_window_secs as i64 + 1);
    w.f.refresh_prices(&mut w.t).await;
    let (what, ix) = ("a deposit 31 s old", exec(&late, &oracles));
    refused(&mut w, what, ix, by_keeper, perp(RequestExpired)).await;

    // a withdrawal waits the pool's delay and lives a week after it, so its prices may go stale:
    // market 0 (the only one with open interest) must be at most 60 s old
    w.f.place_withdrawal(&mut w.t, &w.lp, &lp_acct, 2, E6, 0)
        .await
        .unwrap();
    let wd = w.request(&lp_key, 2).await;
    w.t.advance(default_params().max_age_open_secs as i64 + 1);
    let (what, ix) = ("a price 61 s old", exec(&wd, &oracles));
    refused(&mut w, what, ix, by_keeper, perp(StaleOracle)).await;
    w.f.refresh_prices(&mut w.t).await;
    w.t.send(&[exec(&wd, &oracles)], &[&keeper]).await.unwrap();
    // with an hour's delay, not before the hour
    let admin = w.t.admin.insecure_clone();
    let hour = RequestParams {
        withdrawal_delay_secs: 3_600,
        ..test_request_params()
    };
    w.t.send(
        &[ix::set_request_params(&admin.pubkey(), &pool, hour)],
        &[&admin],
    )
    .await
    .unwrap();
    w.f.place_withdrawal(&mut w.t, &w.lp, &lp_acct, 2, E6, 0)
        .await
        .unwrap();
    let wd = w.request(&lp_key, 2).await;
    w.t.advance(3_599);
    w.f.refresh_prices(&mut w.t).await;
    let (what, ix) = ("3,599 s after it was placed", exec(&wd, &oracles));
    refused(&mut w, what, ix, by_keeper, perp(RequestNotReady)).await;
    // nor in the second the delay ends (as a request is never executed in the second it is
    // placed)
    w.t.advance(1);
    let (what, ix) = ("3,600 s after it was placed", exec(&wd, &oracles));
    refused(&mut w, what, ix, by_keeper, perp(RequestNotReady)).await;
    // then on a print published after the delay only
    w.t.advance(1);
    let (what, ix) = (
        "on a print from before the delay ended",
        exec(&wd, &oracles),
    );
    refused(&mut w, what, ix, by_keeper, perp(PriceBeforeRequest)).await;
    w.f.refresh_prices(&mut w.t).await;
    w.t.send(&[exec(&wd, &oracles)], &[&keeper]).await.unwrap();
    assert!(w.f.request(&mut w.t, &lp_key, 2).await.is_none());
}

#[tokio::test]
async fn lp_requests_refused_by_their_own_bound_are_closed_and_refunded() {
    let mut w = World::new().await;
    let (lp_key, lp_quote, lp_acct) = (w.lp.key(), w.lp.quote, w.lp_acct);
    let keeper = w.keeper.key();
    let watched = [lp_quote, lp_acct];
    let before = books(&mut w.t, &w.f, &lp_key, &watched).await;
    let (quote, shares) = (w.t.balance(&lp_quote).await, w.t.balance(&lp_acct).await);
    let (lp_sol, keeper_sol) = (
        lamports(&mut w.t, &lp_key).await,
        lamports(&mut w.t, &keeper).await,
    );
    // 101 shares for 100 quote: more than the pool gives, its LP capital covering its shares
    // (the dead ones too) at least 1:1 and its one trader not in profit at an unchanged price
    let p = w.t.pool(&w.f.pool).await;
    let supply = w.t.lp_supply(&w.f.lp_mint).await;
    assert!(p.lp_capital >= supply + p.dead_shares);
    w.f.place_deposit(&mut w.t, &w.lp, &lp_acct, 0, 100 * E6, 101 * E6)
        .await
        .unwrap();
    assert_eq!(w.t.balance(&lp_quote).await, quote - 100 * E6, "escrowed");
    w.tick().await;
    let refused = w.f.execute(&mut w.t, &w.keeper, &lp_key, 0).await;
    assert_eq!(refused, Ok(Some(perp(SlippageExceeded))));
    // 2 quote for 1 share: more than it is worth
    w.f.place_withdrawal(&mut w.t, &w.lp, &lp_acct, 1, E6, 2 * E6)
        .await
        .unwrap();
    assert_eq!(w.t.balance(&lp_acct).await, shares - E6, "escrowed");
    w.tick().await;
    let refused = w.f.execute(&mut w.t, &w.keeper, &lp_key, 1).await;
    assert_eq!(refused, Ok(Some(perp(SlippageExceeded))));
    // both requests closed, the quote and the shares back; the keeper earned both fees, the LP
    // got both requests' rent back
    for slot in [0, 1] {
        assert!(w.f.request(&mut w.t, &lp_key, slot).await.is_none());
    }
    let after = books(&mut w.t, &w.f, &lp_key, &watched).await;
    assert_same_books("refused LP requests", &before, &after);
    assert_eq!(lamports(&mut w.t, &lp_key).await, lp_sol - 2 * KEEPER_FEE);
    assert_eq!(
        lamports(&mut w.t, &keeper).await,
        keeper_sol + 2 * KEEPER_FEE
    );
}

#[tokio::test]
async fn withdrawal_cannot_take_reserved_capital() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(2_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 1_000 * E6).await.unwrap();
    let trader = t.user(1_000 * E6).await;
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 200 * E6)
        .await
        .unwrap();
    // M* for q* = 1 % with K = 10 at 100: 1,000·e^(0.05·2.326 − 0.00125) − 1,000 ≈ 122;
    // at a capital share of 1/2 the pool must keep ≈ 244 of LP capital
    let shares = t.balance(&lp_acct).await;
    let escrow = ix::lp_escrow_pda(&f.pool);
    let watched = [f.pool, f.vault, lp_acct, lp.quote, escrow];
    let before = t.snapshot(&watched).await;
    // the reserve holds a withdrawal back without ending it: the execution fails and the request
    // stays pending, its shares in escrow, until the reserve lets it through or its owner
    // cancels it
    f.place_withdrawal(&mut t, &lp, &lp_acct, 0, shares, 0)
        .await
        .unwrap();
    let r = f.settle(&mut t, &lp.key(), 0, 1).await;
    assert_code(r, perp(CapitalReserved));
    let (key, pending) = f
        .request(&mut t, &lp.key(), 0)
        .await
        .expect("still pending");
    assert_eq!(pending.size as u64, shares);
    assert_eq!(
        (t.balance(&lp_acct).await, t.balance(&escrow).await),
        (0, shares)
    );
    let cancel = ix::cancel_request(&lp.key(), &f.pool, &ix::RequestRef::of(key, &pending));
    t.send(&[cancel], &[&lp.kp]).await.unwrap();
    assert_eq!(before, t.snapshot(&watched).await, "cancelled: as before");
    // 70 % of the shares is fine, 80 % is not
    f.withdraw(&mut t, &lp, &lp_acct, shares / 10 * 7)
        .await
        .unwrap();
    f.place_withdrawal(&mut t, &lp, &lp_acct, 0, shares / 10, 0)
        .await
        .unwrap();
    let r = f.settle(&mut t, &lp.key(), 0, 1).await;
    assert_code(r, perp(CapitalReserved));
    // the reserve follows σ: at 3.2 % it is ≈ 2·77 and the same pending withdrawal goes
    // through (σ moves a fifth per announced change, a day each: 5 % → 4 % → 3.2 %)
    let admin = t.admin.insecure_clone();
    let m = &f.markets[0];
    for sigma in [40_000_000, 32_000_000] {
        let params = params_with(|p| p.sigma_e9 = sigma);
        let propose = ix::propose_market_change(&admin.pubkey(), &f.pool, &m.key, params);
        t.send(&[propose], &[&admin]).await.unwrap();
        t.advance(86_400);
        let apply = ix::apply_market_change(&f.pool, &m.key, &m.oracle);
        t.send(&[apply], &[]).await.unwrap();
    }
    let quote = t.balance(&lp.quote).await;
    f.settle(&mut t, &lp.key(), 0, 1).await.unwrap();
    assert!(f.request(&mut t, &lp.key(), 0).await.is_none());
    assert!(t.balance(&lp.quote).await > quote);
    assert_eq!(t.balance(&escrow).await, 0);
    t.assert_vault_balanced(&f.pool).await;
}

#[tokio::test]
async fn place_order_bad_inputs() {
    let mut w = World::new().await;
    let (pool, market, now) = (w.f.pool, w.f.markets[0].key, w.t.now);
    let trader = w.trader.kp.insecure_clone();
    let other = w.other.kp.insecure_clone();
    let (trader_quote, other_quote) = (w.trader.quote, w.other.quote);
    let by_trader = |args| ix::place_order(&trader.pubkey(), &pool, &market, &trader_quote, args);
    let by_other = |args| ix::place_order(&other.pubkey(), &pool, &market, &other_quote, args);
    let from = |quote: &Pubkey| {
        let args = order(MarketIncrease, E6 as i64, 100 * E6);
        ix::place_order(&other.pubkey(), &pool, &market, quote, args)
    };
    let (lp_mint, quote_mint) = (w.f.lp_mint, w.t.quote_mint);
    let other_lp = w.t.create_token_account(&lp_mint, &other.pubkey()).await;
    let second_quote = w.t.create_token_account(&quote_mint, &other.pubkey()).await;
    let (t, o): (&[&Keypair], &[&Keypair]) = (&[&trader], &[&other]);
    let open = order(MarketIncrease, E6 as i64, 100 * E6);
    let reduce = order(MarketReduce, E6 as i64, 0);
    let remove = order(RemoveCollateral, 0, E6);
    let tp = trigger(TakeProfit, 0, 0, 0, 110 * E9, now);
    let max_expiry = now + 90 * 86_400;
    let invalid = perp(InvalidRequest);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("an open of no size", by_other(PlaceOrderArgs { size: 0, ..open }), o, perp(ZeroAmount)),
        ("an open on no collateral", by_other(PlaceOrderArgs { collateral: 0, ..open }), o, perp(ZeroAmount)),
        ("increasing a long by a short", by_trader(order(MarketIncrease, -(E6 as i64), 0)), t, perp(InvalidSize)),
        ("reducing no position", by_other(reduce), o, perp(NoPosition)),
        ("a take-profit on no position", by_other(tp), o, perp(NoPosition)),
        ("removing margin from no position", by_other(remove), o, perp(NoPosition)),
        ("a negative reduction", by_trader(PlaceOrderArgs { size: -(E6 as i64), ..reduce }), t, invalid),
        ("a reduction posting margin", by_trader(PlaceOrderArgs { collateral: E6, ..reduce }), t, invalid),
        ("removing no margin", by_trader(PlaceOrderArgs { collateral: 0, ..remove }), t, perp(ZeroAmount)),
        ("removing margin with a size", by_trader(PlaceOrderArgs { size: E6 as i64, ..remove }), t, invalid),
        // trigger kinds need a trigger and an expiry at most 90 days ahead; market kinds neither
        ("a take-profit without a trigger", by_trader(PlaceOrderArgs { trigger_price_e9: 0, ..tp }), t, invalid),
        ("a take-profit without an expiry", by_trader(PlaceOrderArgs { expires_ts: 0, ..tp }), t, invalid),
        ("a take-profit expiring now", by_trader(PlaceOrderArgs { expires_ts: now, ..tp }), t, invalid),
        ("a take-profit for 90 days and 1 s", by_trader(PlaceOrderArgs { expires_ts: max_expiry + 1, ..tp }), t, invalid),
        ("a market reduction with a trigger", by_trader(PlaceOrderArgs { trigger_price_e9: 110 * E9, ..reduce }), t, invalid),
        ("a market reduction with an expiry", by_trader(PlaceOrderArgs { expires_ts: now + 60, ..reduce }), t, invalid),
        ("an LP kind", by_other(PlaceOrderArgs { kind: Deposit, ..open }), o, perp(WrongRequestKind)),
        ("slot 16", by_other(PlaceOrderArgs { slot: 16, ..open }), o, perp(RequestSlotOutOfRange)),
        ("a fee below the pool's minimum", by_other(PlaceOrderArgs { keeper_fee: KEEPER_FEE - 1, ..open }), o, perp(KeeperFeeTooLow)),
        ("another's quote account", from(&trader_quote), o, anchor(AnchorError::ConstraintTokenOwner)),
        ("an LP account as the quote one", from(&other_lp), o, perp(WrongMint)),
        ("not the pool's vault", with_account(by_other(open), 5, second_quote), o, perp(WrongVault)),
        // more collateral than the trader holds: the SPL Token program refuses the escrow
        ("20,000 of margin from 10,000", by_other(PlaceOrderArgs { collateral: 20_000 * E6, ..open }), o, 1),
    ]).await;
    // a slot holds one request: a second one there cannot create the request account
    let limit = trigger(LimitIncrease, 0, E6 as i64, 100 * E6, 99 * E9, now);
    w.t.send(&[by_other(limit)], &[&other]).await.unwrap();
    refused_as(&mut w, "a slot in use", by_other(open), o, account_exists()).await;
    // OPEN paused stops new increases (reductions may still be placed)
    w.set_pause(pause::OPEN).await;
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("an open", by_other(PlaceOrderArgs { slot: 1, ..open }), o, perp(Paused)),
        ("a limit open", by_other(PlaceOrderArgs { slot: 1, ..limit }), o, perp(Paused)),
        ("an increase", by_trader(open), t, perp(Paused)),
    ]).await;
    w.t.send(&[by_trader(tp)], &[&trader]).await.unwrap();
}

#[tokio::test]
async fn execute_order_bad_inputs() {
    let mut w = World::new().await;
    let pool = w.f.pool;
    let (o0, o1) = (w.f.markets[0].oracle, w.f.markets[1].oracle);
    let keeper = w.keeper.kp.insecure_clone();
    let (trader_key, other_key) = (w.trader.key(), w.other.key());
    let open = order(MarketIncrease, E6 as i64, 100 * E6);
    w.f.place(&mut w.t, &w.other, 0, open).await.unwrap();
    let r = w.request(&other_key, 0).await;
    let exec = |r: &ix::RequestRef, oracle: &Pubkey| {
        ix::execute_order(&keeper.pubkey(), &pool, r, oracle, None)
    };
    let to_trader = ix::RequestRef {
        pay_to: w.trader.quote,
        ..r
    };
    let trader_pos = w.f.position(0, &trader_key);
    let m1 = w.f.markets[1].key;
    let by_keeper: &[&Keypair] = &[&keeper];
    // the market's last price was published in the same second as the request
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("the other market's oracle", exec(&r, &o1), by_keeper, perp(WrongOracle)),
        ("the other market", with_account(exec(&r, &o0), 2, m1), by_keeper, perp(WrongMarket)),
        ("a stranger's position", with_account(exec(&r, &o0), 3, trader_pos), by_keeper, perp(WrongPosition)),
        ("the payout to another's account", exec(&to_trader, &o0), by_keeper, perp(WrongPayoutAccount)),
        ("a price published before the request", exec(&r, &o0), by_keeper, perp(PriceBeforeRequest)),
    ]).await;
    // a print published after the request, but 11 s old by execution
    w.tick().await;
    w.t.advance(11);
    let what = "a price 11 s old";
    let ix = exec(&r, &o0);
    refused(&mut w, what, ix, by_keeper, perp(ExecutionPriceTooOld)).await;
    // too uncertain to open on: 1.5 % > 1 %
    w.f.set_price(&mut w.t, 0, 100.0, 1.5).await;
    let what = "a 1.5 % confidence interval";
    let ix = exec(&r, &o0);
    refused(&mut w, what, ix, by_keeper, perp(OracleConfidence)).await;
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    // pause groups: OPEN stops increases and margin removals, CLOSE the rest
    w.set_pause(pause::OPEN).await;
    let what = "OPEN paused";
    let ix = exec(&r, &o0);
    refused(&mut w, what, ix, by_keeper, perp(Paused)).await;
    w.set_pause(0).await;
    // executed once; the second time the request is gone
    w.t.send(&[exec(&r, &o0)], &[&keeper]).await.unwrap();
    let gone = anchor(AnchorError::AccountNotInitialized);
    refused(&mut w, "a second execution", exec(&r, &o0), by_keeper, gone).await;

    // a market request lives for the pool's 30 s window
    w.f.place(&mut w.t, &w.other, 0, open).await.unwrap();
    let late = w.request(&other_key, 0).await;
    w.t.advance(test_request_params().order_window_secs as i64 + 1);
    w.f.refresh_prices(&mut w.t).await;
    let what = "an open 31 s old";
    let ix = exec(&late, &o0);
    refused(&mut w, what, ix, by_keeper, perp(RequestExpired)).await;
    let clear = ix::cancel_request(&keeper.pubkey(), &pool, &late);
    w.t.send(&[clear], &[&keeper]).await.unwrap();

    // the trader's reduction and margin removal, with the pause switches
    let remove = PlaceOrderArgs {
        slot: 1,
        ..order(RemoveCollateral, 0, E6)
    };
    w.f.place(&mut w.t, &w.trader, 0, order(MarketReduce, E6 as i64, 0))
        .await
        .unwrap();
    w.f.place(&mut w.t, &w.trader, 0, remove).await.unwrap();
    let (reduce, remove) = (
        w.request(&trader_key, 0).await,
        w.request(&trader_key, 1).await,
    );
    w.tick().await;
    w.set_pause(pause::OPEN).await;
    let what = "a margin removal, OPEN paused";
    let ix = exec(&remove, &o0);
    refused(&mut w, what, ix, by_keeper, perp(Paused)).await;
    w.set_pause(pause::CLOSE).await;
    let what = "a reduction, CLOSE paused";
    let ix = exec(&reduce, &o0);
    refused(&mut w, what, ix, by_keeper, perp(Paused)).await;
    w.set_pause(0).await;
    for r in [reduce, remove] {
        w.t.send(&[exec(&r, &o0)], &[&keeper]).await.unwrap();
    }
}

#[tokio::test]
async fn trigger_orders_wait_for_their_trigger() {
    let mut w = World::new().await;
    let now = w.t.now;
    let (trader_key, other_key, lp_key) = (w.trader.key(), w.other.key(), w.lp.key());
    // at 100: a long limit at 99, a short limit at 101, and the trader's long (10 at 100 on
    // 100) with a take-profit at 110 and a stop-loss at 95
    let orders = [
        (
            &w.other,
            trigger(LimitIncrease, 0, E6 as i64, 100 * E6, 99 * E9, now),
        ),
        (
            &w.lp,
            trigger(LimitIncrease, 0, -(E6 as i64), 100 * E6, 101 * E9, now),
        ),
        (&w.trader, trigger(TakeProfit, 0, 0, 0, 110 * E9, now)),
        (&w.trader, trigger(StopLoss, 1, 0, 0, 95 * E9, now)),
    ];
    for (user, args) in orders {
        w.f.place(&mut w.t, user, 0, args).await.unwrap();
    }
    let (pool, o0) = (w.f.pool, w.f.markets[0].oracle);
    let keeper = w.keeper.kp.insecure_clone();
    let exec = |r: &ix::RequestRef| ix::execute_order(&keeper.pubkey(), &pool, r, &o0, None);
    let long_limit = exec(&w.request(&other_key, 0).await);
    let short_limit = exec(&w.request(&lp_key, 0).await);
    let tp = w.request(&trader_key, 0).await;
    let sl = exec(&w.request(&trader_key, 1).await);
    w.tick().await;
    let by_keeper: &[&Keypair] = &[&keeper];
    let not_reached = perp(TriggerNotReached);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a long limit at 99", long_limit.clone(), by_keeper, not_reached),
        ("a short limit at 101", short_limit.clone(), by_keeper, not_reached),
        ("a take-profit at 110", exec(&tp), by_keeper, not_reached),
        ("a stop-loss at 95", sl.clone(), by_keeper, not_reached),
    ]).await;
    // a trigger order outlives prices: one 61 s old is stale for an open (60 s) ...
    w.t.advance(61);
    let what = "a limit open on a price 61 s old";
    let ix = long_limit.clone();
    refused(&mut w, what, ix, by_keeper, perp(StaleOracle)).await;
    // ... and fresh enough for a reduction (600 s), but not as an execution price (10 s)
    let what = "a stop-loss on a price 61 s old";
    let ix = sl.clone();
    refused(&mut w, what, ix, by_keeper, perp(ExecutionPriceTooOld)).await;
    // at its trigger, each fills
    for (price, ix) in [(99.0, long_limit), (101.0, short_limit), (95.0, sl)] {
        w.f.set_price(&mut w.t, 0, price, 0.0).await;
        let logs = w.t.send_logs(&[ix], &[&keeper]).await.unwrap();
        let outcome = keel::client::requests::outcome(&logs);
        assert_eq!(
            outcome,
            Some((perp_amm::events::request_outcome::EXECUTED, 0))
        );
    }
    assert_eq!(
        w.t.position(&w.f.position(0, &other_key))
            .await
            .unwrap()
            .size,
        E6 as i64
    );
    assert_eq!(
        w.t.position(&w.f.position(0, &lp_key)).await.unwrap().size,
        -(E6 as i64)
    );
    // the stop-loss closed the position the take-profit named: it can only be cleared, by anyone
    let what = "a take-profit on a closed position";
    refused(&mut w, what, exec(&tp), by_keeper, perp(PositionChanged)).await;
    let clear = ix::cancel_request(&keeper.pubkey(), &pool, &tp);
    w.t.send(&[clear], &[&keeper]).await.unwrap();
    assert!(w.t.position(&w.f.position(0, &trader_key)).await.is_none());
}

#[tokio::test]
async fn cancel_request_bad_inputs() {
    let mut w = World::new().await;
    let pool = w.f.pool;
    let (other_key, lp_key) = (w.other.key(), w.lp.key());
    let other = w.other.kp.insecure_clone();
    let stranger = w.keeper.kp.insecure_clone();
    let lp = w.lp.kp.insecure_clone();
    let now = w.t.now;
    // a market open (slot 0), a limit open (slot 1), and a deposit
    w.f.place(
        &mut w.t,
        &w.other,
        0,
        order(MarketIncrease, E6 as i64, 100 * E6),
    )
    .await
    .unwrap();
    let limit = trigger(LimitIncrease, 1, E6 as i64, 100 * E6, 99 * E9, now);
    w.f.place(&mut w.t, &w.other, 0, limit).await.unwrap();
    w.f.place_deposit(&mut w.t, &w.lp, &w.lp_acct, 0, 100 * E6, 0)
        .await
        .unwrap();
    let (market, limit) = (
        w.request(&other_key, 0).await,
        w.request(&other_key, 1).await,
    );
    let deposit = w.request(&lp_key, 0).await;
    let cancel =
        |signer: &Keypair, r: &ix::RequestRef| ix::cancel_request(&signer.pubkey(), &pool, r);
    let refund_to = |r: &ix::RequestRef, to: Pubkey| ix::RequestRef {
        refund_to: to,
        ..*r
    };
    // a trade request named without its position, as an LP request would be
    let no_position = ix::RequestRef {
        market: Pubkey::default(),
        ..limit
    };
    let (trader_quote, stranger_quote) = (w.trader.quote, w.keeper.quote);
    let (o, s, l): (&[&Keypair], &[&Keypair], &[&Keypair]) = (&[&other], &[&stranger], &[&lp]);
    #[rustfmt::skip]
    refused_all(&mut w, [
        // a live request is its owner's alone
        ("a stranger, before expiry", cancel(&stranger, &limit), s, perp(RequestNotExpired)),
        // a market request (an open, a deposit) runs its window out: no free look at the price
        ("the owner of a market open", cancel(&other, &market), o, perp(CancelTooEarly)),
        ("the owner of a deposit", cancel(&lp, &deposit), l, perp(CancelTooEarly)),
        // the refund goes to an account of the owner's
        ("the refund to another's account", cancel(&other, &refund_to(&limit, trader_quote)), o, perp(WrongPayoutAccount)),
        ("the limit without its position", cancel(&other, &no_position), o, perp(WrongPosition)),
        ("the owner's limit, another as its owner", with_account(cancel(&other, &limit), 3, lp_key), o, perp(NotRequestOwner)),
    ]).await;
    // once expired anyone may clear it, but only to where the owner asked
    w.t.advance(test_request_params().order_window_secs as i64 + 1);
    let what = "a stranger clearing to his own account";
    let ix = cancel(&stranger, &refund_to(&market, stranger_quote));
    refused(&mut w, what, ix, s, perp(WrongPayoutAccount)).await;
}

#[tokio::test]
async fn cancelled_and_cleared_requests_refund_everything() {
    let mut w = World::new().await;
    let pool = w.f.pool;
    let other_key = w.other.key();
    let (other, stranger) = (w.other.kp.insecure_clone(), w.keeper.kp.insecure_clone());
    let watched = [w.other.quote];
    let before = books(&mut w.t, &w.f, &other_key, &watched).await;
    let (sol, stranger_sol) = (
        lamports(&mut w.t, &other_key).await,
        lamports(&mut w.t, &stranger.pubkey()).await,
    );
    let now = w.t.now;
    // the owner cancels a limit open (its collateral escrowed, an empty position opened for it)
    // at once
    let limit = trigger(LimitIncrease, 1, E6 as i64, 100 * E6, 99 * E9, now);
    w.f.place(&mut w.t, &w.other, 0, limit).await.unwrap();
    assert_eq!(w.t.balance(&w.other.quote).await, 10_000 * E6 - 100 * E6);
    assert_eq!(w.t.pool(&pool).await.request_escrow, 100 * E6);
    let r = w.request(&other_key, 1).await;
    let logs =
        w.t.send_logs(&[ix::cancel_request(&other_key, &pool, &r)], &[&other])
            .await
            .unwrap();
    use perp_amm::events::request_outcome::{CANCELLED, CLEARED};
    assert_eq!(keel::client::requests::outcome(&logs), Some((CANCELLED, 0)));
    assert_same_books(
        "cancelled",
        &before,
        &books(&mut w.t, &w.f, &other_key, &watched).await,
    );
    assert_eq!(
        lamports(&mut w.t, &other_key).await,
        sol,
        "rent and fee back"
    );
    // a stranger clears an expired market open: the same, and nothing for the stranger
    let open = order(MarketIncrease, E6 as i64, 100 * E6);
    w.f.place(&mut w.t, &w.other, 0, open).await.unwrap();
    let r = w.request(&other_key, 0).await;
    w.t.advance(test_request_params().order_window_secs as i64 + 1);
    let clear = ix::cancel_request(&stranger.pubkey(), &pool, &r);
    let logs = w.t.send_logs(&[clear], &[&stranger]).await.unwrap();
    assert_eq!(keel::client::requests::outcome(&logs), Some((CLEARED, 0)));
    assert_same_books(
        "cleared",
        &before,
        &books(&mut w.t, &w.f, &other_key, &watched).await,
    );
    assert_eq!(
        lamports(&mut w.t, &other_key).await,
        sol,
        "rent and fee back"
    );
    assert_eq!(lamports(&mut w.t, &stranger.pubkey()).await, stranger_sol);
    assert!(w.f.request(&mut w.t, &other_key, 0).await.is_none());
}

#[tokio::test]
async fn fills_the_engine_refuses_change_nothing() {
    let mut w = World::new().await;
    let params = w.t.market(&w.f.markets[0].key).await.params;
    // 20x at most, 1,000 base native at least, 2.5 % maintenance
    assert_eq!(
        (
            params.max_leverage,
            params.min_position_size,
            params.maintenance_margin_bps
        ),
        (20, 1_000, 250)
    );
    let (t, o) = (&w.trader, &w.other);
    let (long, short) = (E6 as i64, -(E6 as i64));
    let slippage = perp(SlippageExceeded);
    // other has no position; the trader holds 10 long at 100 on 100 of margin
    #[rustfmt::skip]
    let cases: &[Refusal] = &[
        ("21x: 2,100 notional on 100", o, MarketIncrease, 21 * long, 100 * E6, 0, perp(MaxLeverage)),
        ("999 base native: dust", o, MarketIncrease, 999, 100 * E6, 0, perp(DustPosition)),
        // a buy limit below the price, a sell limit above it
        ("a buy limit of 99", o, MarketIncrease, long, 100 * E6, 99 * E9, slippage),
        ("a sell limit of 101", o, MarketIncrease, short, 100 * E6, 101 * E9, slippage),
        ("an overflowing size", o, MarketIncrease, i64::MAX, 100 * E6, 0, perp(MathOverflow)),
        // 30 long on 100: 30x
        ("increase by 20 on no collateral", t, MarketIncrease, 20 * long, 0, 0, perp(MaxLeverage)),
        ("decrease to dust", t, MarketReduce, 10 * long - 1, 0, 0, perp(DustPosition)),
        ("decrease with a floor of 101", t, MarketReduce, long, 0, 101 * E9, slippage),
        ("close with a floor of 101", t, MarketReduce, 0, 0, 101 * E9, slippage),
        ("remove 1,000 of 100", t, RemoveCollateral, 0, 1_000 * E6, 0, perp(InsufficientCollateral)),
        // 1,000 notional on 40: 25x
        ("remove 60", t, RemoveCollateral, 0, 60 * E6, 0, perp(MaxLeverage)),
    ];
    fills_refused(&mut w.t, &w.f, cases).await;
    // a decrease that would leave the position below maintenance: after a fall to 91.8, cutting
    // 1 leaves equity ≈ 100 − 82 − fees ≈ 17 < 2.5 % of 9 × 91.8 ≈ 20.7
    w.f.set_price(&mut w.t, 0, 91.8, 0.0).await;
    #[rustfmt::skip]
    let cases: &[Refusal] = &[
        ("decrease by 1 at 91.8", &w.trader, MarketReduce, long, 0, 0, perp(BelowMaintenanceMargin)),
    ];
    fills_refused(&mut w.t, &w.f, cases).await;
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    // the open-interest cap: 10 long already open
    w.update_market(0, params_with(|p| p.max_long_oi = 15 * E6))
        .await;
    #[rustfmt::skip]
    let cases: &[Refusal] = &[
        ("6 more past a cap of 15 long", &w.other, MarketIncrease, 6 * long, 100 * E6, 0, perp(OpenInterestCap)),
    ];
    fills_refused(&mut w.t, &w.f, cases).await;
}

#[tokio::test]
async fn default_probability_cap_rejects_risky_trades() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(1_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 200 * E6).await.unwrap();
    let trader = t.user(10_000 * E6).await;
    // M = 100 behind a 5,000 notional long: q ≈ 1 > the 20 % cap
    #[rustfmt::skip]
    let cases: &[Refusal] = &[
        ("5,000 notional on 200 of capital", &trader, MarketIncrease, 50 * E6 as i64, 1_000 * E6, 0, perp(DefaultProbabilityCap)),
    ];
    fills_refused(&mut t, &f, cases).await;
    // a small trade is fine
    f.open(&mut t, &trader, 0, E6 as i64, 100 * E6)
        .await
        .unwrap();
}

#[tokio::test]
async fn add_collateral_bad_inputs() {
    let mut w = World::new().await;
    let (pool, market, oracle) = (w.f.pool, w.f.markets[0].key, w.f.markets[0].oracle);
    let trader = w.trader.kp.insecure_clone();
    let other = w.other.kp.insecure_clone();
    let (trader_quote, other_quote) = (w.trader.quote, w.other.quote);
    let add = |owner: &Keypair, quote: &Pubkey, amount| {
        ix::add_collateral(&owner.pubkey(), &pool, &market, &oracle, quote, amount)
    };
    let (t, o): (&[&Keypair], &[&Keypair]) = (&[&trader], &[&other]);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("nothing", add(&trader, &trader_quote, 0), t, perp(ZeroAmount)),
        ("to no position", add(&other, &other_quote, E6), o, anchor(AnchorError::AccountNotInitialized)),
    ]).await;
    // an empty position kept open by a pending take-profit (its position closed) backs nothing
    let now = w.t.now;
    w.f.open(&mut w.t, &w.other, 0, E6 as i64, 100 * E6)
        .await
        .unwrap();
    let tp = trigger(TakeProfit, 1, 0, 0, 120 * E9, now);
    w.f.place(&mut w.t, &w.other, 0, tp).await.unwrap();
    w.f.close(&mut w.t, &w.other, 0, true).await.unwrap();
    let empty =
        w.t.position(&w.f.position(0, &other.pubkey()))
            .await
            .unwrap();
    assert_eq!((empty.size, empty.pending_requests), (0, 1));
    let what = "to an empty position";
    let ix = add(&other, &other_quote, E6);
    refused(&mut w, what, ix, o, perp(NoPosition)).await;
    w.set_pause(pause::CLOSE).await;
    let what = "CLOSE paused";
    let ix = add(&trader, &trader_quote, E6);
    refused(&mut w, what, ix, t, perp(Paused)).await;
}

#[tokio::test]
async fn no_execution_uses_a_price_older_than_its_market_has() {
    // Push oracles only move forward, so the per-market bound is shown with a Pyth market: any
    // verified update may be posted, including an older one than the market has used.
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[]).await;
    let admin = t.admin.insecure_clone();
    let feed_id = [0x42; 32];
    let pyth = Pubkey::new_unique();
    let post = |t: &mut TestContext, publish_time: i64| {
        t.set_account(
            &pyth,
            &PYTH_RECEIVER_ID,
            price_update(feed_id, 100_000_000, -6, publish_time),
        )
    };
    let now = t.now;
    post(&mut t, now);
    let args = AddMarketArgs {
        symbol: [0; 16],
        base_decimals: 6,
        oracle_kind: OracleKind::Pyth,
        feed_id,
        params: default_params(),
    };
    let pool = f.pool;
    t.send(
        &[ix::add_market(&admin.pubkey(), &pool, 0, &pyth, args)],
        &[&admin],
    )
    .await
    .unwrap();
    // the fixture executes against it (it cannot re-publish a Pyth price: the test posts them)
    f.markets.push(MarketFixture {
        key: ix::market_pda(&pool, 0),
        index: 0,
        oracle: pyth,
        feed_id,
        expo: -6,
    });
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    let keeper = t.user(0).await;
    f.place_deposit(&mut t, &lp, &lp_acct, 0, 50_000 * E6, 0)
        .await
        .unwrap();
    t.advance(1);
    let now = t.now;
    post(&mut t, now);
    assert_eq!(f.execute(&mut t, &keeper, &lp.key(), 0).await, Ok(None));
    // two opens and a deposit placed at t0; the first open executes on a print of t0 + 2
    let trader = t.user(10_000 * E6).await;
    let other = t.user(10_000 * E6).await;
    let open = order(MarketIncrease, 10 * E6 as i64, 100 * E6);
    f.place(&mut t, &trader, 0, open).await.unwrap();
    f.place(&mut t, &other, 0, open).await.unwrap();
    f.place_deposit(&mut t, &lp, &lp_acct, 1, 100 * E6, 0)
        .await
        .unwrap();
    let t0 = t.now;
    t.advance(2);
    post(&mut t, t0 + 2);
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    assert_eq!(t.pool(&pool).await.markets[0].last_price_ts, t0 + 2);
    // then a print of t0 + 1: after the requests, 1 s old, yet older than the market's
    post(&mut t, t0 + 1);
    let mut w = World {
        t,
        f,
        lp,
        lp_acct,
        trader,
        other,
        keeper,
    };
    let (other_key, lp_key) = (w.other.key(), w.lp.key());
    let order_ref = w.request(&other_key, 0).await;
    let deposit_ref = w.request(&lp_key, 1).await;
    let k = w.keeper.kp.insecure_clone();
    let (market, trader_key, keeper_quote, trader_quote) = (
        w.f.markets[0].key,
        w.trader.key(),
        w.keeper.quote,
        w.trader.quote,
    );
    let liquidate = ix::liquidate(
        &k.pubkey(),
        &pool,
        &market,
        &trader_key,
        &pyth,
        &keeper_quote,
        &trader_quote,
        None,
    );
    let by_keeper: &[&Keypair] = &[&k];
    let older = perp(PriceOlderThanMarket);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("an open", ix::execute_order(&k.pubkey(), &pool, &order_ref, &pyth, None), by_keeper, older),
        ("a deposit", ix::execute_lp_request(&k.pubkey(), &pool, &deposit_ref, &[pyth]), by_keeper, older),
        ("a liquidation", liquidate, by_keeper, older),
    ]).await;
    // the market's own latest print is still good
    post(&mut w.t, t0 + 2);
    assert_eq!(
        w.f.execute(&mut w.t, &w.keeper, &other_key, 0).await,
        Ok(None)
    );
}

/// Auto-deleveraging and its ceiling (issue #19): the ceiling's setter refuses strangers and
/// values outside 10..=90 % of LP capital; `deleverage` refuses while traders' profit is within
/// the ceiling, a zero size, a losing position, missing or misordered oracles, a print over
/// 10 s old, another's token account, and the liquidation or close pause.
#[tokio::test]
async fn deleverage_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let keeper = w.keeper.kp.insecure_clone();
    let intruder = w.other.kp.insecure_clone();
    let pool = w.f.pool;
    let by_admin: &[&Keypair] = &[&admin];
    let by_keeper: &[&Keypair] = &[&keeper];
    let ceiling = |signer: &Pubkey, bps| ix::set_profit_ceiling(signer, &pool, bps);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("intruder sets the ceiling", ceiling(&intruder.pubkey(), 2_000), &[&intruder], perp(Unauthorized)),
        ("ceiling 9.99 %", ceiling(&admin.pubkey(), 999), by_admin, perp(InvalidParameter)),
        ("ceiling 90.01 %", ceiling(&admin.pubkey(), 9_001), by_admin, perp(InvalidParameter)),
    ]).await;
    assert_eq!(w.t.pool(&pool).await.profit_ceiling_bps(), 5_000);
    w.t.send(&[ceiling(&admin.pubkey(), 1_000)], by_admin)
        .await
        .unwrap();
    assert_eq!(w.t.pool(&pool).await.max_trader_profit_bps, 1_000);
    // shorts that lose when the price rises: one bankrupt at 1,200, one small and sound
    w.f.open(&mut w.t, &w.other, 0, -(E6 as i64), 100 * E6)
        .await
        .unwrap();
    w.f.open(&mut w.t, &w.lp, 0, -(E6 as i64) / 100, 100 * E6)
        .await
        .unwrap();
    let (market, oracle) = (w.f.markets[0].key, w.f.markets[0].oracle);
    let oracles = w.f.oracles();
    let adl = |keeper: &Pubkey, owner: &User, owner_quote: &Pubkey, oracles: &[Pubkey], size| {
        ix::deleverage(
            keeper,
            &pool,
            &market,
            &owner.key(),
            &oracle,
            owner_quote,
            None,
            oracles,
            size,
        )
    };
    let k = keeper.pubkey();
    let (tq, oq, lq) = (w.trader.quote, w.other.quote, w.lp.quote);
    // at 100 the long of 10 is flat: within the ceiling of 10 % of ~100k
    let flat = adl(&k, &w.trader, &tq, &oracles, 10 * E6);
    refused(
        &mut w,
        "within the ceiling",
        flat,
        by_keeper,
        perp(ProfitWithinCeiling),
    )
    .await;
    // at 1,200 it is 11k up, past the ceiling
    w.f.set_price(&mut w.t, 0, 1_200.0, 0.0).await;
    let reversed: Vec<Pubkey> = oracles.iter().rev().copied().collect();
    let trader = w.trader.kp.insecure_clone();
    let (t_, o_, l_) = (&w.trader, &w.other, &w.lp);
    let tk = trader.pubkey();
    #[rustfmt::skip]
    let cases = [
        ("size zero", adl(&k, t_, &tq, &oracles, 0), by_keeper, perp(ZeroAmount)),
        ("its own owner", adl(&tk, t_, &tq, &oracles, E6), &[&trader] as &[&Keypair], perp(DeleverageOwnPosition)),
        ("a losing short", adl(&k, l_, &lq, &oracles, E6), by_keeper, perp(PositionNotInProfit)),
        ("a bankrupt short (a liquidation)", adl(&k, o_, &oq, &oracles, E6), by_keeper, perp(BelowMaintenanceMargin)),
        ("no oracles", adl(&k, t_, &tq, &[], E6), by_keeper, perp(MarketAccountsMismatch)),
        ("oracles out of order", adl(&k, t_, &tq, &reversed, E6), by_keeper, perp(MarketAccountsMismatch)),
        ("to another's account", adl(&k, t_, &oq, &oracles, E6), by_keeper, anchor(AnchorError::ConstraintTokenOwner)),
    ];
    refused_all(&mut w, cases).await;
    w.t.advance(11);
    w.f.refresh_prices(&mut w.t).await;
    w.t.advance(11);
    let stale = adl(&k, &w.trader, &tq, &oracles, E6);
    refused(
        &mut w,
        "a print 11 s old",
        stale,
        by_keeper,
        perp(ExecutionPriceTooOld),
    )
    .await;
    w.f.refresh_prices(&mut w.t).await;
    for flags in [pause::LIQUIDATE, pause::CLOSE] {
        w.set_pause(flags).await;
        let ix = adl(&k, &w.trader, &tq, &oracles, E6);
        refused(&mut w, "paused", ix, by_keeper, perp(Paused)).await;
    }
    w.set_pause(0).await;
    // asked for all of it, the keeper closes only what brings traders' profit back to the
    // ceiling (about one of the ten), and the rest keeps its margin; a second call is refused
    let position = w.f.position(0, &w.trader.key());
    let quote = w.t.balance(&tq).await;
    let all = adl(&k, &w.trader, &tq, &oracles, u64::MAX);
    w.t.send(std::slice::from_ref(&all), by_keeper)
        .await
        .unwrap();
    let left = w.t.position(&position).await.unwrap().size;
    assert!(left > 8 * E6 as i64 && left < 9 * E6 as i64, "{left}");
    assert_eq!(w.t.balance(&tq).await, quote);
    refused(
        &mut w,
        "back within",
        all.clone(),
        by_keeper,
        perp(ProfitWithinCeiling),
    )
    .await;
    // at 100,000 the rest is 900k up, more than the pool holds, and goes whole (the ceiling
    // is only reached by closing it all): the account is closed, and its owner is paid its
    // margin and what LP capital and the default fund hold
    w.f.set_price(&mut w.t, 0, 100_000.0, 0.0).await;
    w.t.send(&[all], by_keeper).await.unwrap();
    assert!(w.t.position(&position).await.is_none());
    assert!(w.t.balance(&tq).await > quote + 90_000 * E6);
}

#[tokio::test]
async fn liquidate_and_funding_bad_inputs() {
    let mut w = World::new().await;
    let keeper = w.keeper.kp.insecure_clone();
    let (pool, market, oracle) = (w.f.pool, w.f.markets[0].key, w.f.markets[0].oracle);
    let (trader_key, trader_quote, keeper_quote) = (w.trader.key(), w.trader.quote, w.keeper.quote);
    let liq = |owner_quote: &Pubkey| {
        ix::liquidate(
            &keeper.pubkey(),
            &pool,
            &market,
            &trader_key,
            &oracle,
            &keeper_quote,
            owner_quote,
            None,
        )
    };
    let by_keeper: &[&Keypair] = &[&keeper];
    let (what, ix) = ("a healthy position", liq(&trader_quote));
    refused(&mut w, what, ix, by_keeper, perp(NotLiquidatable)).await;
    // the remainder must go to the owner's own token account
    w.f.set_price(&mut w.t, 0, 91.0, 0.0).await;
    let not_owners = w.other.quote;
    refused(
        &mut w,
        "the remainder to another's account",
        liq(&not_owners),
        by_keeper,
        anchor(AnchorError::ConstraintTokenOwner),
    )
    .await;
    w.t.advance(61);
    let ix = liq(&trader_quote);
    refused(&mut w, "a stale price", ix, by_keeper, perp(StaleOracle)).await;
    w.f.refresh_prices(&mut w.t).await;
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(
            &admin.pubkey(),
            &pool,
            pause::LIQUIDATE | pause::FUNDING,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let funding = ix::update_funding(&pool, &market, &oracle);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a liquidation", liq(&trader_quote), by_keeper, perp(Paused)),
        ("a funding update", funding, &[], perp(Paused)),
    ]).await;
    // closing paused (the trader can neither close nor add margin): no liquidation either
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::CLOSE)],
        &[&admin],
    )
    .await
    .unwrap();
    let what = "a liquidation while closing is paused";
    refused(&mut w, what, liq(&trader_quote), by_keeper, perp(Paused)).await;
    w.t.send(&[ix::set_pause(&admin.pubkey(), &pool, 0)], &[&admin])
        .await
        .unwrap();
    let wrong_oracle = w.f.markets[1].oracle;
    let ix = ix::update_funding(&pool, &market, &wrong_oracle);
    let what = "funding with the other market's oracle";
    refused(&mut w, what, ix, &[], perp(WrongOracle)).await;
    // default fund donations: zero, paused
    let other = w.other.kp.insecure_clone();
    let other_quote = w.other.quote;
    let ix = ix::fund_default_fund(&other.pubkey(), &pool, &other_quote, 0);
    refused(&mut w, "a zero donation", ix, &[&other], perp(ZeroAmount)).await;
}
