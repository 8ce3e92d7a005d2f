//! The perp-amm scenario: a pool with `n` markets at price 100, LP capital, a risk model and
//! open interest in every market, then a day of funding, a liquidation, a risk update and the
//! portfolio premium. `run` lists the phases in the order their transactions are sent; the
//! measured CU depend on that order (and on the deterministic keys each phase draws), so the
//! phases must not be reordered.

use anchor_lang::prelude::Pubkey;
use keel::client::perp as ix;
use perp_amm::instructions::*;
use perp_amm::state::{MarketParams, OracleKind, RequestKind, premium_mode};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::harness::{Bench, E6, E9, Instruction};
use crate::params::market_params;

/// The pool and its markets. `m` and `o` are the last market and its oracle, where the
/// single-market instructions are measured.
struct Markets {
    n: u8,
    pool: Pubkey,
    oracles: Vec<Pubkey>,
    m: Pubkey,
    o: Pubkey,
    /// Executes every request (paid its fee).
    keeper: Keypair,
}

impl Markets {
    /// The scenario column: "{n} active market(s){what}".
    fn label(&self, what: &str) -> String {
        let n = self.n;
        format!("{n} active market{}{what}", plural(n))
    }

    /// The budget of executing a market open, checked at 16 markets.
    fn open_budget(&self) -> Option<u64> {
        if self.n == 16 { Some(45_000) } else { None }
    }

    /// The budget of placing a request, checked at 16 markets.
    fn place_budget(&self) -> Option<u64> {
        if self.n == 16 { Some(20_000) } else { None }
    }
}

fn plural(n: u8) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A user with a quote-token account.
struct User {
    kp: Keypair,
    quote: Pubkey,
}

/// The liquidity provider: quote-token and LP-share accounts.
struct Lp {
    kp: Keypair,
    quote: Pubkey,
    shares: Pubkey,
}

/// The risk model's publisher, the R and certificate it published first, and the model's
/// address the fills pass.
struct RiskModel {
    publisher: Keypair,
    upper: Vec<i32>,
    lower: Vec<i32>,
    pda: Option<Pubkey>,
}

/// A pool with `n` markets at price 100, LP capital, and open interest in every market.
pub fn run(b: &mut Bench, n: u8, pool_id: u64) {
    let pool = init_pool(b, n, pool_id);
    let oracles = add_markets(b, n, &pool);
    let mk = Markets {
        n,
        pool,
        m: ix::market_pda(&pool, n - 1),
        o: oracles[(n - 1) as usize],
        oracles,
        keeper: b.user(0).0,
    };
    let lp = first_deposit(b, &mk);
    let risk = init_risk_model(b, &mk);
    let (trader, mut positions) = open_every_market(b, &mk, &risk);
    resize_position(b, &mk, &risk, &trader);
    lp_with_open_interest(b, &mk, &lp);
    // announced here so that the funding day's clock runs its notice (no extra time jump to
    // move the later phases' figures); applied before the portfolio-premium phase
    announce_portfolio_premium(b, &mk);
    funding_day(b, &mk);
    liquidation(b, &mk, &risk);
    trigger_orders(b, &mk, &risk, &trader);
    close_position(b, &mk, &risk, &trader);
    positions.push(risk_update(b, &mk, &risk));
    positions.push(portfolio_premium(b, &mk, &risk));
    // last: it pays out 600k of LP capital, which would move the figures of the phases above
    positions.push(deleverage(b, &mk, &risk, &lp));
    if n == 32 {
        market_hours(b, &mk, &lp, &risk, &trader);
    }
    if n == 1 {
        admin_instructions(b, &mk, &lp, &risk);
    }
    check_accounting(b, &mk, &positions);
}

/// `init_pool` for perp pool `pool_id` on the bench's quote mint, with the bench's oracle
/// authority (the collateral-pool scenario uses one for its push oracle too).
pub fn init_pool_ix(b: &Bench, pool_id: u64) -> Instruction {
    ix::init_pool(
        &b.admin.pubkey(),
        &b.mint,
        InitPoolArgs {
            pool_id,
            lp_fee_share_bps: 8_000,
            target_default_prob_e9: E9 / 100,
            min_deposit: 10 * E6,
            oracle_authority: b.oracle_auth.pubkey(),
            requests: keel::client::presets::request_params(),
        },
    )
}

/// The pool (measured at n = 1); returns its address.
fn init_pool(b: &mut Bench, n: u8, pool_id: u64) -> Pubkey {
    let admin = b.admin.insecure_clone();
    let init = init_pool_ix(b, pool_id);
    if n == 1 {
        b.measure(
            "init_pool",
            "vault, LP mint, 9 KB pool",
            None,
            &[init],
            &[&admin],
        )
    } else {
        b.must("init_pool", &[init], &[&admin])
    }
    ix::pool_pda(&b.mint, pool_id)
}

/// `add_market` for market `i` on a push oracle, with the bench's market parameters.
fn add_market_ix(
    admin: &Pubkey,
    pool: &Pubkey,
    i: u8,
    oracle: &Pubkey,
    feed_id: [u8; 32],
    params: MarketParams,
) -> Instruction {
    ix::add_market(
        admin,
        pool,
        i,
        oracle,
        AddMarketArgs {
            symbol: [0; 16],
            base_decimals: 6,
            oracle_kind: OracleKind::Push,
            feed_id,
            params,
        },
    )
}

/// In the 32-market pool, markets 16..31 keep FX's hours (schedule 1) with a 3σ gap
/// allowance and 3x over a close; the pool has no calendar until the market-hours phase, so until then they are
/// always open and every other figure is as without them.
fn scheduled(n: u8, i: u8) -> MarketParams {
    if n == 32 && i >= 16 {
        MarketParams {
            schedule: keel::client::presets::FX_SCHEDULE,
            gap_sigmas_e2: 300,
            max_leverage_over_close: 3,
            ..market_params()
        }
    } else {
        market_params()
    }
}

/// One push oracle at 100 and one market per index; the oracle instructions and the first
/// market are measured at n = 1, the 32nd market at n = 32. Returns the oracles.
fn add_markets(b: &mut Bench, n: u8, pool: &Pubkey) -> Vec<Pubkey> {
    let admin = b.admin.insecure_clone();
    let oracle_auth = b.oracle_auth.insecure_clone();
    let mut oracles = vec![];
    for i in 0..n {
        let mut feed_id = [0u8; 32];
        feed_id[0] = i;
        feed_id[1] = 0xfe;
        let init_oracle = ix::init_push_oracle(&oracle_auth.pubkey(), pool, feed_id, -6);
        let oracle = ix::push_oracle_pda(pool, &feed_id);
        let price = b.push_price(pool, &oracle, 100.0);
        let add = add_market_ix(&admin.pubkey(), pool, i, &oracle, feed_id, scheduled(n, i));
        if n == 1 {
            b.measure(
                "init_push_oracle",
                "",
                None,
                &[init_oracle],
                &[&oracle_auth],
            );
            b.measure("update_push_oracle", "", None, &[price], &[&oracle_auth]);
            b.measure("add_market", "first market", None, &[add], &[&admin]);
        } else if i == n - 1 && n == 32 {
            b.must("init oracle", &[init_oracle, price], &[&oracle_auth]);
            b.measure("add_market", "32nd market", None, &[add], &[&admin]);
        } else {
            b.must("init oracle", &[init_oracle, price], &[&oracle_auth]);
            b.must("add market", &[add], &[&admin]);
        }
        oracles.push(oracle);
    }
    oracles
}

/// The LP's first deposit (set-up, not measured): placed, then executed a second later.
fn first_deposit(b: &mut Bench, mk: &Markets) -> Lp {
    let (kp, quote) = b.user(10_000_000 * E6);
    let lp_mint = ix::lp_mint_pda(&mk.pool);
    let shares = b.token_account(&lp_mint, &kp.pubkey());
    let lp = Lp { kp, quote, shares };
    let place = lp_request(mk, &lp, RequestKind::Deposit, 5_000_000 * E6);
    b.must("first deposit", &[place], &[&lp.kp]);
    b.set_time(b.now + 1);
    let execute = execute_lp_ix(mk, &lp, RequestKind::Deposit);
    b.must("first deposit's execution", &[execute], &[&mk.keeper]);
    lp
}

/// `place_lp_request` in slot 0 for `lp`.
fn lp_request(mk: &Markets, lp: &Lp, kind: RequestKind, amount: u64) -> Instruction {
    let args = PlaceLpRequestArgs {
        slot: 0,
        kind,
        amount,
        min_out: 0,
        keeper_fee: keel::client::presets::request_params().min_keeper_fee_lamports,
        request_bump: 0,
    };
    ix::place_lp_request(&lp.kp.pubkey(), &mk.pool, &lp.quote, &lp.shares, args)
}

/// The keeper's `execute_lp_request` of `lp`'s request in slot 0.
fn execute_lp_ix(mk: &Markets, lp: &Lp, kind: RequestKind) -> Instruction {
    let owner = lp.kp.pubkey();
    let (pay_to, refund_to) = match kind {
        RequestKind::Deposit => (lp.shares, lp.quote),
        _ => (lp.quote, lp.shares),
    };
    let r = ix::RequestRef {
        request: ix::request_pda(&mk.pool, &owner, 0),
        owner,
        market: Pubkey::default(),
        pay_to,
        refund_to,
    };
    ix::execute_lp_request(&mk.keeper.pubkey(), &mk.pool, &r, &mk.oracles)
}

/// A market order of `kind` in slot 0 (any price; the keeper's fee the pool's minimum).
fn order(kind: RequestKind, size: i64, collateral: u64) -> PlaceOrderArgs {
    PlaceOrderArgs {
        slot: 0,
        kind,
        size,
        collateral,
        acceptable_price_e9: if size > 0 && kind == RequestKind::MarketIncrease {
            u64::MAX
        } else {
            0
        },
        trigger_price_e9: 0,
        expires_ts: 0,
        keeper_fee: keel::client::presets::request_params().min_keeper_fee_lamports,
        request_bump: 0,
        position_bump: 0,
    }
}

/// A measurement's name, scenario and budget, or `None` for set-up.
type Measured = Option<(&'static str, String, Option<u64>)>;

fn send(b: &mut Bench, what: &str, measured: Measured, ixs: &[Instruction], signers: &[&Keypair]) {
    match measured {
        Some((name, scenario, budget)) => b.measure(name, scenario, budget, ixs, signers),
        None => b.must(what, ixs, signers),
    }
}

/// `user` places `args` in market `market`.
fn place(
    b: &mut Bench,
    mk: &Markets,
    user: &User,
    market: &Pubkey,
    args: PlaceOrderArgs,
    measured: Measured,
) {
    let place = ix::place_order(&user.kp.pubkey(), &mk.pool, market, &user.quote, args);
    send(b, "place order", measured, &[place], &[&user.kp]);
}

/// A second later the market's oracle prints `price`, and the keeper executes `user`'s request
/// in `slot` on that print.
#[allow(clippy::too_many_arguments)]
fn execute(
    b: &mut Bench,
    mk: &Markets,
    risk: &RiskModel,
    user: &User,
    (market, oracle): (&Pubkey, &Pubkey),
    slot: u8,
    price: f64,
    measured: Measured,
) {
    let oracle_auth = b.oracle_auth.insecure_clone();
    b.set_time(b.now + 1);
    let print = b.push_price(&mk.pool, oracle, price);
    b.must("print", &[print], &[&oracle_auth]);
    let owner = user.kp.pubkey();
    let r = ix::RequestRef {
        request: ix::request_pda(&mk.pool, &owner, slot),
        owner,
        market: *market,
        pay_to: user.quote,
        refund_to: user.quote,
    };
    let execute = ix::execute_order(&mk.keeper.pubkey(), &mk.pool, &r, oracle, risk.pda);
    send(b, "execute order", measured, &[execute], &[&mk.keeper]);
}

/// A market order placed and executed a second later, neither measured.
fn trade(
    b: &mut Bench,
    mk: &Markets,
    risk: &RiskModel,
    user: &User,
    m: (&Pubkey, &Pubkey),
    args: PlaceOrderArgs,
) {
    place(b, mk, user, m.0, args, None);
    execute(b, mk, risk, user, m, args.slot, 100.0, None);
}

/// An equicorrelated R (ρ = 0.5, positive definite) for `n` markets: its strict upper
/// triangle and Cholesky certificate.
fn equicorrelated(n: usize) -> (Vec<i32>, Vec<i32>) {
    let mut full = vec![0.5; n * n];
    for i in 0..n {
        full[i * n + i] = 1.0;
    }
    let upper = keel::risk::corr_upper_e9(&full, n);
    let lower = keel::risk::cholesky_certificate(&full, n).expect("PSD");
    (upper, lower)
}

/// `init_risk_model` with per-market premiums and `publisher` as the risk authority.
fn init_risk_model_ix(admin: &Pubkey, pool: &Pubkey, publisher: &Pubkey) -> Instruction {
    ix::init_risk_model(
        admin,
        pool,
        InitRiskModelArgs {
            risk_authority: *publisher,
            max_sigma_step_bps: 2_000,
            max_corr_step_e9: 100_000_000,
            psd_tolerance_e9: 1_000,
            limits: RiskLimits {
                max_imbalance_bps: 10_000,
                premium_mode: premium_mode::PER_MARKET,
                premium_horizon_secs: 86_400,
            },
        },
    )
}

/// The risk model before any trading: σ and an equicorrelated R for n markets, staged in
/// transaction-sized writes and committed (its PSD check grows as n³); from here every fill
/// passes it and moves the pool's Imbalance Score.
fn init_risk_model(b: &mut Bench, mk: &Markets) -> RiskModel {
    let admin = b.admin.insecure_clone();
    let n = mk.n;
    let publisher = b.next_key();
    let init_risk = init_risk_model_ix(&admin.pubkey(), &mk.pool, &publisher.pubkey());
    let (upper, lower) = equicorrelated(n as usize);
    let writes = ix::stage_risk_writes(
        &publisher.pubkey(),
        &mk.pool,
        &vec![50_000_000; n as usize],
        &upper,
        &lower,
    )
    .expect("fits");
    if n == 1 {
        b.measure("init_risk_model", "", None, &[init_risk], &[&admin]);
        b.measure(
            "stage_risk",
            format!("{} bytes", ix::RISK_STAGE_CHUNK),
            None,
            &writes[..1],
            &[&publisher],
        );
    } else {
        b.must("init_risk_model", &[init_risk], &[&admin]);
        b.must("stage_risk", &writes[..1], &[&publisher]);
    }
    for w in &writes[1..] {
        b.must("stage_risk", std::slice::from_ref(w), &[&publisher]);
    }
    let commit = ix::commit_risk(&publisher.pubkey(), &mk.pool, b.now);
    b.measure(
        "commit_risk",
        format!("{n} market{}, PSD certificate", plural(n)),
        None,
        &[commit],
        &[&publisher],
    );
    RiskModel {
        publisher,
        upper,
        lower,
        pda: Some(ix::risk_model_pda(&mk.pool)),
    }
}

/// Open interest in every market, so pool valuation prices each one; the open in the last
/// market is measured, placed and executed. Returns the trader and the positions.
fn open_every_market(b: &mut Bench, mk: &Markets, risk: &RiskModel) -> (User, Vec<Pubkey>) {
    let (kp, quote) = b.user(1_000_000 * E6);
    let trader = User { kp, quote };
    let mut positions = vec![];
    for i in 0..mk.n {
        let market = ix::market_pda(&mk.pool, i);
        let oracle = mk.oracles[i as usize];
        let args = order(RequestKind::MarketIncrease, 10 * E6 as i64, 200 * E6);
        if i == mk.n - 1 {
            let label = mk.label(", market open");
            place(
                b,
                mk,
                &trader,
                &market,
                args,
                Some(("place_order", label.clone(), mk.place_budget())),
            );
            let measured = Some(("execute_order", label, mk.open_budget()));
            execute(b, mk, risk, &trader, (&market, &oracle), 0, 100.0, measured);
        } else {
            trade(b, mk, risk, &trader, (&market, &oracle), args);
        }
        positions.push(ix::position_pda(&market, &trader.kp.pubkey()));
    }
    (trader, positions)
}

/// The trader's position in the last market: increase, decrease, add and remove collateral.
fn resize_position(b: &mut Bench, mk: &Markets, risk: &RiskModel, trader: &User) {
    let (m, o) = (&mk.m, &mk.o);
    for (what, args) in [
        (
            ", market increase",
            order(RequestKind::MarketIncrease, 5 * E6 as i64, 50 * E6),
        ),
        (
            ", market decrease",
            order(RequestKind::MarketReduce, 5 * E6 as i64, 0),
        ),
        (
            ", margin removal",
            order(RequestKind::RemoveCollateral, 0, 10 * E6),
        ),
    ] {
        place(b, mk, trader, m, args, None);
        let measured = Some(("execute_order", mk.label(what), None));
        execute(b, mk, risk, trader, (m, o), 0, 100.0, measured);
    }
    let owner = &trader.kp.pubkey();
    let add = ix::add_collateral(owner, &mk.pool, m, o, &trader.quote, 10 * E6);
    b.measure("add_collateral", mk.label(""), None, &[add], &[&trader.kp]);
}

/// A take-profit and a stop-loss on the trader's last position: the stop-loss cancelled by its
/// owner, the take-profit executed once the price crosses it (and the position's rest closed
/// by `close_position` after).
fn trigger_orders(b: &mut Bench, mk: &Markets, risk: &RiskModel, trader: &User) {
    let (m, o) = (&mk.m, &mk.o);
    let expires_ts = b.now + 86_400;
    let tp = PlaceOrderArgs {
        slot: 1,
        trigger_price_e9: 101 * E9,
        expires_ts,
        ..order(RequestKind::TakeProfit, 5 * E6 as i64, 0)
    };
    let sl = PlaceOrderArgs {
        slot: 2,
        trigger_price_e9: 90 * E9,
        expires_ts,
        ..order(RequestKind::StopLoss, 0, 0)
    };
    place(
        b,
        mk,
        trader,
        m,
        tp,
        Some(("place_order", mk.label(", take-profit"), mk.place_budget())),
    );
    place(b, mk, trader, m, sl, None);
    let owner = trader.kp.pubkey();
    let r = ix::RequestRef {
        request: ix::request_pda(&mk.pool, &owner, 2),
        owner,
        market: *m,
        pay_to: trader.quote,
        refund_to: trader.quote,
    };
    let cancel = ix::cancel_request(&owner, &mk.pool, &r);
    b.measure(
        "cancel_request",
        mk.label(", stop-loss"),
        None,
        &[cancel],
        &[&trader.kp],
    );
    let measured = Some((
        "execute_order",
        mk.label(", take-profit crossed"),
        Some(45_000),
    ));
    execute(b, mk, risk, trader, (m, o), 1, 102.0, measured);
    let back = b.push_price(&mk.pool, o, 100.0);
    let oracle_auth = b.oracle_auth.insecure_clone();
    b.must("price back", &[back], &[&oracle_auth]);
}

/// A deposit and a withdrawal with open interest in every market, each placed and executed on
/// a new print of every market (the execution budgeted at 32 markets); the withdrawal waits
/// for the pool's delay.
fn lp_with_open_interest(b: &mut Bench, mk: &Markets, lp: &Lp) {
    let budget_lp = if mk.n == 32 { Some(60_000) } else { None };
    let label = mk.label(" with open interest");
    let delay = keel::client::presets::request_params().withdrawal_delay_secs as i64;
    for (kind, amount, wait) in [
        (RequestKind::Deposit, 1_000 * E6, 1),
        (RequestKind::Withdraw, 1_000 * E6, delay + 1),
    ] {
        let what = if kind == RequestKind::Deposit {
            ", deposit"
        } else {
            ", withdrawal"
        };
        let place = lp_request(mk, lp, kind, amount);
        b.measure(
            "place_lp_request",
            format!("{label}{what}"),
            mk.place_budget(),
            &[place],
            &[&lp.kp],
        );
        b.set_time(b.now + wait);
        refresh_prices(b, mk, 100.0);
        let execute = execute_lp_ix(mk, lp, kind);
        b.measure(
            "execute_lp_request",
            format!("{label}{what}"),
            budget_lp,
            &[execute],
            &[&mk.keeper],
        );
    }
}

/// Market hours (n = 32): the pool's calendar; FX's week for markets 16..31 with a two-day
/// holiday, announced a day ahead (they hold open interest); the cut of a position to the
/// leverage over a close and an increase in the hour before the holiday; then, while those sixteen are
/// closed, an LP deposit and withdrawal and a refresh of the Imbalance Score, valuing them at
/// their last print moved by the gap allowance.
fn market_hours(b: &mut Bench, mk: &Markets, lp: &Lp, risk: &RiskModel, trader: &User) {
    let admin = b.admin.insecure_clone();
    let oracle_auth = b.oracle_auth.insecure_clone();
    let init = ix::init_calendar(&admin.pubkey(), &mk.pool);
    b.measure("init_calendar", "5 KB calendar", None, &[init], &[&admin]);
    // the holiday begins at noon UTC on the first Tuesday to Thursday three days on (FX open,
    // the day of open time its notice needs passed by then)
    let mut day = (b.now + 3 * 86_400) / 86_400;
    while !(2..=4).contains(&((day + 4) % 7)) {
        day += 1;
    }
    let start = day * 86_400 + 12 * 3_600;
    let (index, mut fx) = keel::client::presets::schedules().remove(0);
    fx.closures = vec![[start, start + 2 * 86_400]];
    let set = ix::set_schedule(&admin.pubkey(), &mk.pool, index, fx);
    let label = "FX week and a holiday, in use (announced)";
    b.measure("set_schedule", label, None, &[set], &[&admin]);
    // half a minute before the holiday: the trader's 5x in market 16 is cut to 3x, and an
    // increase must meet 3x
    b.set_time(start - 30);
    let (m16, o16) = (ix::market_pda(&mk.pool, 16), mk.oracles[16]);
    let print = b.push_price(&mk.pool, &o16, 100.0);
    b.must("print", &[print], &[&oracle_auth]);
    let cut = ix::reduce_before_close(
        &mk.keeper.pubkey(),
        &mk.pool,
        &m16,
        &trader.kp.pubkey(),
        &o16,
        &trader.quote,
        risk.pda,
    );
    // portfolio premium: the first cut's insurance charge is past its 1 % allowance, so a
    // second fill finishes it (two fills: the budget is two executions')
    let label = "5x to 3x before a holiday, 32 markets, portfolio premium (two fills)";
    b.measure(
        "reduce_before_close",
        label,
        Some(70_000),
        &[cut],
        &[&mk.keeper],
    );
    let args = order(RequestKind::MarketIncrease, E6 as i64, 60 * E6);
    place(b, mk, trader, &m16, args, None);
    let label = "32 markets, increase in the hour before a close".to_string();
    let measured = Some(("execute_order", label, mk.open_budget()));
    execute(b, mk, risk, trader, (&m16, &o16), 0, 100.0, measured);
    b.set_time(start + 60);
    let open = &mk.oracles[..16];
    let refresh_open = |b: &mut Bench| {
        let ixs: Vec<Instruction> = open
            .iter()
            .map(|o| b.push_price(&mk.pool, o, 100.0))
            .collect();
        for chunk in ixs.chunks(8) {
            b.must("refresh open markets", chunk, &[&oracle_auth]);
        }
    };
    let delay = keel::client::presets::request_params().withdrawal_delay_secs as i64;
    for (kind, amount, wait, what) in [
        (RequestKind::Deposit, 1_000 * E6, 1, "deposit"),
        (RequestKind::Withdraw, 1_000 * E6, delay + 1, "withdrawal"),
    ] {
        let place = lp_request(mk, lp, kind, amount);
        b.must("place_lp_request", &[place], &[&lp.kp]);
        b.set_time(b.now + wait);
        refresh_open(b);
        let execute = execute_lp_ix(mk, lp, kind);
        b.measure(
            "execute_lp_request",
            format!("32 markets, 16 closed (last print, gap allowance), {what}"),
            Some(60_000),
            &[execute],
            &[&mk.keeper],
        );
    }
    let refresh = ix::refresh_imbalance(&mk.pool, &mk.oracles);
    b.measure(
        "refresh_imbalance",
        "32 markets, 16 closed",
        None,
        &[refresh],
        &[],
    );
}

/// Every market prints `price` now (8 per transaction).
fn refresh_prices(b: &mut Bench, mk: &Markets, price: f64) {
    let oracle_auth = b.oracle_auth.insecure_clone();
    let refresh: Vec<Instruction> = mk
        .oracles
        .iter()
        .map(|o| b.push_price(&mk.pool, o, price))
        .collect();
    for chunk in refresh.chunks(8) {
        b.must("refresh prices", chunk, &[&oracle_auth]);
    }
}

/// A day later: every price refreshed (8 per transaction), then funding on the last market.
fn funding_day(b: &mut Bench, mk: &Markets) {
    b.set_time(b.now + 86_400);
    refresh_prices(b, mk, 100.0);
    b.measure(
        "update_funding",
        mk.label(", one day of skew"),
        None,
        &[ix::update_funding(&mk.pool, &mk.m, &mk.o)],
        &[],
    );
}

/// A leveraged position, a 4 % price drop, the keeper's liquidation, and the price back.
fn liquidation(b: &mut Bench, mk: &Markets, risk: &RiskModel) {
    let oracle_auth = b.oracle_auth.insecure_clone();
    let (kp, quote) = b.user(1_000 * E6);
    let risky = User { kp, quote };
    let args = order(RequestKind::MarketIncrease, 10 * E6 as i64, 60 * E6);
    trade(b, mk, risk, &risky, (&mk.m, &mk.o), args);
    let drop = b.push_price(&mk.pool, &mk.o, 96.0);
    b.must("price drop", &[drop], &[&oracle_auth]);
    let (keeper, keeper_quote) = b.user(0);
    let liq = ix::liquidate(
        &keeper.pubkey(),
        &mk.pool,
        &mk.m,
        &risky.kp.pubkey(),
        &mk.o,
        &keeper_quote,
        &risky.quote,
        risk.pda,
    );
    b.measure("liquidate", mk.label(""), Some(45_000), &[liq], &[&keeper]);
    let back = b.push_price(&mk.pool, &mk.o, 100.0);
    b.must("price back", &[back], &[&oracle_auth]);
}

/// Auto-deleveraging: at the lowest ceiling (10 % of the 5M of LP capital) a whale's long of
/// 1,000 in the last market, 10x, is 600k up at 700; the keeper closes the part that brings
/// traders' profit back to the ceiling, reading every market's price. Then the price and the
/// ceiling go back. Returns the whale's position. The LP is the whale and the order
/// keeper deleverages: no new key is drawn, so the later runs' PDA bumps (and figures) stay.
fn deleverage(b: &mut Bench, mk: &Markets, risk: &RiskModel, lp: &Lp) -> Pubkey {
    let admin = b.admin.insecure_clone();
    let oracle_auth = b.oracle_auth.insecure_clone();
    let whale = User {
        kp: lp.kp.insecure_clone(),
        quote: lp.quote,
    };
    let args = order(RequestKind::MarketIncrease, 1_000 * E6 as i64, 10_000 * E6);
    trade(b, mk, risk, &whale, (&mk.m, &mk.o), args);
    let position = ix::position_pda(&mk.m, &whale.kp.pubkey());
    assert!(
        b.svm.get_account(&position).is_some(),
        "the whale's long is open"
    );
    let ceiling = |bps| ix::set_profit_ceiling(&admin.pubkey(), &mk.pool, bps);
    b.measure("set_profit_ceiling", "", None, &[ceiling(1_000)], &[&admin]);
    b.set_time(b.now + 1);
    refresh_prices(b, mk, 100.0);
    let rally = b.push_price(&mk.pool, &mk.o, 700.0);
    b.must("rally", &[rally], &[&oracle_auth]);
    let keeper = mk.keeper.insecure_clone();
    let adl = ix::deleverage(
        &keeper.pubkey(),
        &mk.pool,
        &mk.m,
        &whale.kp.pubkey(),
        &mk.o,
        &whale.quote,
        risk.pda,
        &mk.oracles,
        u64::MAX,
    );
    let budget = if mk.n == 32 { Some(90_000) } else { None };
    b.measure(
        "deleverage",
        mk.label(", part of a winner"),
        budget,
        &[adl],
        &[&keeper],
    );
    let back = b.push_price(&mk.pool, &mk.o, 100.0);
    b.must("price back", &[back], &[&oracle_auth]);
    b.must("ceiling back", &[ceiling(5_000)], &[&admin]);
    position
}

/// The trader closes the position in the last market: a market order, executed.
fn close_position(b: &mut Bench, mk: &Markets, risk: &RiskModel, trader: &User) {
    place(
        b,
        mk,
        trader,
        &mk.m,
        order(RequestKind::MarketReduce, 0, 0),
        None,
    );
    let measured = Some(("execute_order", mk.label(", market close"), Some(40_000)));
    execute(b, mk, risk, trader, (&mk.m, &mk.o), 0, 100.0, measured);
}

/// An update a day later (σ +10 %): the step bounds are checked against the current model.
/// Then the first fill after a commit, which recomputes every K and T (O(n²)); later fills
/// are O(n). Returns that fill's position.
fn risk_update(b: &mut Bench, mk: &Markets, risk: &RiskModel) -> Pubkey {
    let publisher = &risk.publisher;
    let writes = ix::stage_risk_writes(
        &publisher.pubkey(),
        &mk.pool,
        &vec![55_000_000; mk.n as usize],
        &risk.upper,
        &risk.lower,
    )
    .expect("fits");
    for w in &writes {
        b.must("stage_risk", std::slice::from_ref(w), &[publisher]);
    }
    let update = ix::commit_risk(&publisher.pubkey(), &mk.pool, b.now - 30);
    b.measure(
        "commit_risk",
        format!("update, {}", mk.label(", step bounds checked")),
        None,
        &[update],
        &[publisher],
    );
    let (kp, quote) = b.user(1_000 * E6);
    let late = User { kp, quote };
    let args = order(RequestKind::MarketIncrease, E6 as i64, 100 * E6);
    place(b, mk, &late, &mk.m, args, None);
    let measured = Some((
        "execute_order",
        mk.label(", first fill after a risk commit"),
        mk.open_budget(),
    ));
    execute(b, mk, risk, &late, (&mk.m, &mk.o), 0, 100.0, measured);
    ix::position_pda(&mk.m, &late.kp.pubkey())
}

/// The pool announces the portfolio premium (a day's notice: positions are open).
fn announce_portfolio_premium(b: &mut Bench, mk: &Markets) {
    let admin = b.admin.insecure_clone();
    let propose =
        ix::propose_premium_change(&admin.pubkey(), &mk.pool, premium_mode::PORTFOLIO, 86_400);
    if mk.n == 1 {
        b.measure("propose_premium_change", "", None, &[propose], &[&admin]);
    } else {
        b.must("propose_premium_change", &[propose], &[&admin]);
    }
}

/// The portfolio premium: q from the whole book's IS against the pool's capital, applied now
/// that its notice is over. A hedging fill under it, then `refresh_imbalance`. Returns the
/// hedge's position.
fn portfolio_premium(b: &mut Bench, mk: &Markets, risk: &RiskModel) -> Pubkey {
    let admin = b.admin.insecure_clone();
    let apply = ix::apply_premium_change(&mk.pool);
    let limits = ix::set_risk_limits(
        &admin.pubkey(),
        &mk.pool,
        RiskLimits {
            max_imbalance_bps: 10_000,
            premium_mode: premium_mode::PORTFOLIO,
            premium_horizon_secs: 86_400,
        },
    );
    if mk.n == 1 {
        b.measure("apply_premium_change", "", None, &[apply], &[]);
        b.measure(
            "set_risk_limits",
            "IS limit only",
            None,
            &[limits],
            &[&admin],
        );
    } else {
        b.must("apply_premium_change", &[apply], &[]);
        b.must("set_risk_limits", &[limits], &[&admin]);
    }
    let (kp, quote) = b.user(1_000 * E6);
    let hedger = User { kp, quote };
    let args = order(RequestKind::MarketIncrease, -(E6 as i64), 100 * E6);
    place(b, mk, &hedger, &mk.m, args, None);
    let measured = Some((
        "execute_order",
        mk.label(", portfolio premium"),
        mk.open_budget(),
    ));
    execute(b, mk, risk, &hedger, (&mk.m, &mk.o), 0, 100.0, measured);
    let refresh = ix::refresh_imbalance(&mk.pool, &mk.oracles);
    b.measure(
        "refresh_imbalance",
        mk.label(" with open interest"),
        None,
        &[refresh],
        &[],
    );
    ix::position_pda(&mk.m, &hedger.kp.pubkey())
}

/// The admin instructions and the default-fund top-up (measured once, at n = 1).
fn admin_instructions(b: &mut Bench, mk: &Markets, lp: &Lp, risk: &RiskModel) {
    let admin = b.admin.insecure_clone();
    let admin_key = admin.pubkey();
    let (pool, m) = (&mk.pool, &mk.m);
    let update = ix::update_market(&admin_key, pool, m, &mk.o, market_params());
    b.measure("update_market", "", None, &[update], &[&admin]);
    // a higher funding rate worsens open positions' terms: announced, applied a day later by
    // anyone (reading the oracle and accruing funding at the old rate first); lowering it back
    // applies at once
    let faster = MarketParams {
        max_funding_rate_e9: market_params().max_funding_rate_e9 * 2,
        ..market_params()
    };
    let propose = ix::propose_market_change(&admin_key, pool, m, faster);
    let label = "first proposal (creates its account)";
    b.measure("propose_market_change", label, None, &[propose], &[&admin]);
    let cancel = ix::cancel_market_change(&admin_key, pool, m);
    b.measure("cancel_market_change", "", None, &[cancel], &[&admin]);
    let propose = ix::propose_market_change(&admin_key, pool, m, faster);
    b.measure("propose_market_change", "", None, &[propose], &[&admin]);
    b.set_time(b.now + 86_400);
    refresh_prices(b, mk, 100.0);
    let apply = ix::apply_market_change(pool, m, &mk.o);
    let label = "funding rate doubled, skewed book (price read, funding accrued)";
    b.measure("apply_market_change", label, None, &[apply], &[]);
    let update = ix::update_market(&admin_key, pool, m, &mk.o, market_params());
    let label = "funding rate halved back, skewed book (price read, funding accrued)";
    b.measure("update_market", label, None, &[update], &[&admin]);
    let pause = ix::set_pause(&admin_key, pool, 0);
    b.measure("set_pause", "", None, &[pause], &[&admin]);
    let propose = ix::propose_authority(&admin_key, pool, admin_key);
    b.measure("propose_authority", "", None, &[propose], &[&admin]);
    let accept = ix::accept_authority(&admin_key, pool);
    b.measure("accept_authority", "", None, &[accept], &[&admin]);
    let fund = ix::fund_default_fund(&lp.kp.pubkey(), pool, &lp.quote, 100 * E6);
    b.measure("fund_default_fund", "", None, &[fund], &[&lp.kp]);
    // the publisher hands over to itself: the same two steps, and no new key drawn (the keys
    // the later phases draw, and so their PDA bumps and figures, stay as they were)
    let next = risk.publisher.insecure_clone();
    let propose = ix::propose_risk_publisher(&admin_key, pool, next.pubkey());
    b.measure("propose_risk_publisher", "", None, &[propose], &[&admin]);
    let accept = ix::accept_risk_publisher(&next.pubkey(), pool);
    b.measure("accept_risk_publisher", "", None, &[accept], &[&next]);
    // the publisher's bounds: the presets' window (so later commits pay for its checks), no
    // interval (the bench's commits come seconds apart)
    let bounds = RiskBoundsArgs {
        min_commit_interval_secs: 0,
        ..keel::client::presets::risk_bounds()
    };
    let set = ix::set_risk_bounds(&admin_key, pool, bounds);
    b.measure("set_risk_bounds", "", None, &[set], &[&admin]);
    // the oracle authority too hands over to itself (no new key: see above)
    let oracle_authority = b.oracle_auth.insecure_clone();
    let propose = ix::propose_oracle_authority(&admin_key, pool, oracle_authority.pubkey());
    b.measure("propose_oracle_authority", "", None, &[propose], &[&admin]);
    let accept = ix::accept_oracle_authority(&oracle_authority.pubkey(), pool);
    b.measure(
        "accept_oracle_authority",
        "",
        None,
        &[accept],
        &[&oracle_authority],
    );
}

/// Smoke: the vault holds exactly the pool's accounting; collateral sums over positions.
fn check_accounting(b: &mut Bench, mk: &Markets, positions: &[Pubkey]) {
    let p = b.pool(&mk.pool);
    let vault = b.balance(&ix::vault_pda(&mk.pool));
    if vault as u128
        != p.lp_capital as u128
            + p.default_fund as u128
            + p.total_collateral as u128
            + p.request_escrow as u128
            + p.premium_total()
    {
        b.failures
            .push(format!("{}: vault {vault} != accounting", mk.label("")));
    }
    let collateral: u64 = positions
        .iter()
        .filter_map(|k| b.position(k))
        .map(|p| p.collateral)
        .sum();
    if collateral != p.total_collateral {
        b.failures.push(format!(
            "{}: Σ collateral {collateral} != {}",
            mk.label(""),
            p.total_collateral
        ));
    }
}
