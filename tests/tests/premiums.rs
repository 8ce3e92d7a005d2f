//! The insurance charge on the real runtime, over random pool states, in both premium modes
//! (issue #19): a trade split into pieces pays what it pays whole (each piece may round one
//! native unit for the pool; a piece that would be rebated beyond the position's own premiums
//! makes the split dearer, never cheaper), and a round trip at one price earns no rebate.
//!
//! Each case builds two identical pools (the same LP capital, the same background trades at
//! the same random prices), then one trader trades `k` whole in one pool and in 2–6 pieces in
//! the other, all at one price, with fees on (so the trade's own fees reach LP capital between
//! the pieces, which pricing must not see), calling the permissionless `refresh_imbalance`
//! between the pieces as a splitter would.

use keel_tests::fixture::{E6, PerpFixture, default_params, loose_limits};
use keel_tests::{TestContext, User, ix};
use perp_amm::instructions::RiskLimits;
use perp_amm::state::{MarketParams, premium_mode};

const PRICES: [f64; 2] = [100.0, 2_000.0];
const SIGMA: [u64; 2] = [30_000_000, 40_000_000];
const UPPER: [i32; 1] = [890_000_000];

fn params() -> MarketParams {
    MarketParams {
        half_spread_e9: 200_000,
        max_funding_rate_e9: 0,
        ..default_params()
    }
}

/// xorshift64*: a seeded stream for the case's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Fees of a fill of `units` (base native) at the whole price `price`: half-spread and the
/// open fee on the notional, each rounded up.
fn fees(units: u64, price: f64) -> i64 {
    let traded = units as u128 * price as u128;
    let p = params();
    (traded * p.half_spread_e9 as u128).div_ceil(1_000_000_000) as i64
        + (traded * p.open_fee_bps as u128).div_ceil(10_000) as i64
}

struct Case {
    market: u8,
    size: i64,
    pieces: Vec<i64>,
    collateral: u64,
}

/// Build a pool in `mode` and replay the case's background: LP capital, traders' positions at
/// random prices, and the price the test trade fills at.
async fn pool(t: &mut TestContext, id: u64, mode: u8, seed: u64) -> (PerpFixture, [f64; 2]) {
    let mut rng = Rng(seed);
    let mut f = PerpFixture::with_id(t, id, &PRICES, params()).await;
    let lp = t.user(10_000_000 * E6).await;
    let lp_acct = f.lp_account(t, &lp).await;
    let capital = (1_000 + rng.below(30_000)) * E6;
    f.deposit(t, &lp, &lp_acct, capital).await.unwrap();
    let limits = RiskLimits {
        premium_mode: mode,
        ..loose_limits()
    };
    let publisher = f.init_risk_model(t, limits).await;
    let now = t.now;
    f.publish_risk(t, &publisher, &SIGMA, &UPPER, now)
        .await
        .unwrap();
    for _ in 0..3 {
        let market = rng.below(2) as u8;
        let price = PRICES[market as usize] * (0.9 + rng.below(200) as f64 / 1_000.0);
        f.set_price(t, market, price.round(), 0.0).await;
        let units = (1 + rng.below(2_000)) as i64 * E6 as i64 / [1, 20][market as usize];
        let size = if rng.below(3) == 0 { -units } else { units };
        let trader = t.user(10_000_000 * E6).await;
        // refused (a cap, the IS limit): the same in both pools
        let _ = f.open(t, &trader, market, size, 2_000_000 * E6).await;
    }
    let mut prices = [0.0; 2];
    for market in 0..2u8 {
        let price = (PRICES[market as usize] * (0.9 + rng.below(200) as f64 / 1_000.0)).round();
        f.set_price(t, market, price, 0.0).await;
        prices[market as usize] = price;
    }
    (f, prices)
}

fn case(seed: u64) -> Case {
    let mut rng = Rng(seed ^ 0xdead_beef);
    let market = rng.below(2) as u8;
    let units = (1 + rng.below(3_000)) as i64 * E6 as i64 / [1, 20][market as usize];
    let size = if rng.below(2) == 0 { -units } else { units };
    let n = 2 + rng.below(5) as usize;
    let mut cuts: Vec<i64> = (1..n)
        .map(|_| 1 + (rng.below(units as u64 - 1)) as i64)
        .collect();
    cuts.push(0);
    cuts.push(units);
    cuts.sort_unstable();
    cuts.dedup();
    let pieces = cuts
        .windows(2)
        .map(|w| (w[1] - w[0]) * size.signum())
        .collect();
    Case {
        market,
        size,
        pieces,
        collateral: 5_000_000 * E6,
    }
}

/// What the trader's fills charged as premium: the collateral posted less what is left and
/// less the fees (no funding, no realised PnL on an increase).
async fn premium_paid(
    t: &mut TestContext,
    f: &PerpFixture,
    trader: &User,
    c: &Case,
    price: f64,
    sizes: &[i64],
) -> i64 {
    let pos = t
        .position(&f.position(c.market, &trader.key()))
        .await
        .unwrap();
    let fees: i64 = sizes.iter().map(|k| fees(k.unsigned_abs(), price)).sum();
    c.collateral as i64 - pos.collateral as i64 - fees
}

async fn run(mode: u8, cases: u64) {
    let mut t = TestContext::new().await;
    let (mut compared, mut round_trips, mut charged, mut dry) = (0, 0, 0, 0);
    for i in 0..cases {
        let seed = 0x9e1u64 * 1_000 + mode as u64 * 100 + i;
        let c = case(seed);
        let (whole, prices) = pool(&mut t, 2 * i, mode, seed).await;
        let (split, _) = pool(&mut t, 2 * i + 1, mode, seed).await;
        let s = prices[c.market as usize];

        // every other case, the splitter re-marks the pool between his pieces; both pools are
        // then re-marked at the trade's prices first, so that the re-marks between the pieces
        // change no mark, only (were it not for the hourly rule) when income becomes capital
        let refresh_between = i % 2 == 1;
        if refresh_between {
            for f in [&whole, &split] {
                t.send(&[ix::refresh_imbalance(&f.pool, &f.oracles())], &[])
                    .await
                    .unwrap();
            }
        }
        let trader = t.user(c.collateral).await;
        // a trade against the book's side lowers the insurance value first: a fresh position
        // has no premium of its own to be rebated, so those pieces are charged nothing
        let slot = t.pool(&whole.pool).await.markets[c.market as usize];
        let against = (slot.long_oi as i64 - slot.short_oi as i64).signum() == -c.size.signum();
        if whole
            .open(&mut t, &trader, c.market, c.size, c.collateral)
            .await
            .is_err()
        {
            continue;
        }
        let paid_whole = premium_paid(&mut t, &whole, &trader, &c, s, &[c.size]).await;

        if paid_whole.abs() > 1_000 {
            charged += 1;
        }

        let other = t.user(c.collateral).await;
        let mut refused = false;
        for (n, piece) in c.pieces.iter().enumerate() {
            let collateral = if n == 0 { c.collateral } else { 0 };
            if n > 0 && refresh_between {
                // the splitter re-marks the pool between his pieces (anyone may), hoping his
                // own fees become capital that cheapens the next piece: within the hour they
                // do not (every other case)
                let refresh = ix::refresh_imbalance(&split.pool, &split.oracles());
                t.send(&[refresh], &[]).await.unwrap();
            }
            if split
                .open(&mut t, &other, c.market, *piece, collateral)
                .await
                .is_err()
            {
                refused = true;
                break;
            }
        }
        if !refused {
            let paid_split = premium_paid(&mut t, &split, &other, &c, s, &c.pieces).await;
            let n = c.pieces.len() as i64;
            // splitting never saves; it costs more than each piece's rounding only when the
            // trade runs against the book (its first pieces find no premium to refund) or the
            // pool was re-marked (a re-mark rounds each K from the oracle's integers, the fills
            // from their price: the pool's way, a few units)
            assert!(
                paid_split >= paid_whole
                    && (against || refresh_between || paid_split - paid_whole <= n),
                "seed {seed}: whole {paid_whole}, {n} pieces {paid_split}"
            );
            compared += 1;
            dry += (against || refresh_between) as u64;
        }

        // the round trip: closing at the same price rebates at most what the open paid, and
        // charges back at least what it rebated
        let held = t
            .position(&whole.position(c.market, &trader.key()))
            .await
            .unwrap();
        let before = t.balance(&trader.quote).await;
        whole
            .close(&mut t, &trader, c.market, c.size > 0)
            .await
            .unwrap();
        let payout = (t.balance(&trader.quote).await - before) as i64;
        // payout = collateral − close fees + realised PnL (none: integer prices) + rebate
        let close_fee = fees(c.size.unsigned_abs(), s);
        let rebate = payout - held.collateral as i64 + close_fee;
        // (an open against the book paid nothing and its close pays: never a net rebate)
        assert!(
            paid_whole >= rebate && (paid_whole <= 0 || paid_whole - rebate <= 1),
            "seed {seed}: paid {paid_whole}, rebated {rebate}"
        );
        round_trips += 1;
        for f in [&whole, &split] {
            t.assert_vault_balanced(&f.pool).await;
        }
    }
    println!(
        "mode {mode}: {compared} splits compared ({dry} against the book or re-marked), \
         {round_trips} round trips of {cases}; {charged} charged more than 0.001"
    );
    // the cases must run and price something: a third of them pass the caps, at least 12 are
    // compared to the unit (not against the book) and at least 12 pay or earn a premium above
    // 0.001 quote
    assert!(compared >= cases / 3, "too few cases ran: {compared}");
    assert!(
        compared - dry >= 12,
        "too few exact comparisons: {compared} − {dry}"
    );
    assert!(charged >= 12, "too few cases with a premium: {charged}");
}

#[tokio::test]
async fn per_market_splits_and_round_trips() {
    run(premium_mode::PER_MARKET, 90).await;
}

#[tokio::test]
async fn portfolio_splits_and_round_trips() {
    run(premium_mode::PORTFOLIO, 90).await;
}
