//! The perp-amm scenario: a pool with `n` markets at price 100, LP capital, a risk model and
//! open interest in every market, then a day of funding, a liquidation, a risk update and the
//! portfolio premium. `run` lists the phases in the order their transactions are sent; the
//! measured CU depend on that order (and on the deterministic keys each phase draws), so the
//! phases must not be reordered.

use anchor_lang::prelude::Pubkey;
use keel::client::perp as ix;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, premium_mode};
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
}

impl Markets {
    /// The scenario column: "{n} active market(s){what}".
    fn label(&self, what: &str) -> String {
        let n = self.n;
        format!("{n} active market{}{what}", plural(n))
    }

    /// The budget of `open_position`, checked at 16 markets.
    fn open_budget(&self) -> Option<u64> {
        if self.n == 16 { Some(45_000) } else { None }
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
    };
    let lp = first_deposit(b, &mk);
    let risk = init_risk_model(b, &mk);
    let (trader, mut positions) = open_every_market(b, &mk, &risk);
    resize_position(b, &mk, &risk, &trader);
    lp_with_open_interest(b, &mk, &lp);
    funding_day(b, &mk);
    liquidation(b, &mk, &risk);
    close_position(b, &mk, &risk, &trader);
    positions.push(risk_update(b, &mk, &risk));
    positions.push(portfolio_premium(b, &mk, &risk));
    if n == 1 {
        admin_instructions(b, &mk, &lp);
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
            params: market_params(),
        },
    )
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
        let add = add_market_ix(&admin.pubkey(), pool, i, &oracle, feed_id);
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

/// The LP's first deposit (set-up, not measured).
fn first_deposit(b: &mut Bench, mk: &Markets) -> Lp {
    let (kp, quote) = b.user(10_000_000 * E6);
    let lp_mint = ix::lp_mint_pda(&mk.pool);
    let shares = b.token_account(&lp_mint, &kp.pubkey());
    let first = ix::deposit(
        &kp.pubkey(),
        &mk.pool,
        &quote,
        &shares,
        &mk.oracles,
        DepositArgs {
            amount: 5_000_000 * E6,
            min_shares: 0,
        },
    );
    b.must("first deposit", &[first], &[&kp]);
    Lp { kp, quote, shares }
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

/// `open_position` for `user` in market `market` (with oracle `oracle`).
fn open_ix(
    mk: &Markets,
    risk: &RiskModel,
    user: &User,
    (market, oracle): (&Pubkey, &Pubkey),
    args: OpenPositionArgs,
) -> Instruction {
    ix::open_position(
        &user.kp.pubkey(),
        &mk.pool,
        market,
        oracle,
        &user.quote,
        args,
        risk.pda,
    )
}

/// Open interest in every market, so pool valuation prices each one; the open in the last
/// market is measured. Returns the trader and the positions.
fn open_every_market(b: &mut Bench, mk: &Markets, risk: &RiskModel) -> (User, Vec<Pubkey>) {
    let (kp, quote) = b.user(1_000_000 * E6);
    let trader = User { kp, quote };
    let mut positions = vec![];
    for i in 0..mk.n {
        let market = ix::market_pda(&mk.pool, i);
        let args = OpenPositionArgs {
            size: 10 * E6 as i64,
            collateral: 200 * E6,
            price_limit_e9: u64::MAX,
        };
        let open = open_ix(mk, risk, &trader, (&market, &mk.oracles[i as usize]), args);
        if i == mk.n - 1 {
            b.measure(
                "open_position",
                mk.label(""),
                mk.open_budget(),
                &[open],
                &[&trader.kp],
            );
        } else {
            b.must("open", &[open], &[&trader.kp]);
        }
        positions.push(ix::position_pda(&market, &trader.kp.pubkey()));
    }
    (trader, positions)
}

/// The trader's position in the last market: increase, decrease, add and remove collateral.
fn resize_position(b: &mut Bench, mk: &Markets, risk: &RiskModel, trader: &User) {
    let owner = &trader.kp.pubkey();
    let (pool, m, o, quote) = (&mk.pool, &mk.m, &mk.o, &trader.quote);
    let args = IncreasePositionArgs {
        size: 5 * E6 as i64,
        collateral: 50 * E6,
        price_limit_e9: u64::MAX,
    };
    let inc = ix::increase_position(owner, pool, m, o, quote, args, risk.pda);
    b.measure(
        "increase_position",
        mk.label(""),
        None,
        &[inc],
        &[&trader.kp],
    );
    let args = DecreasePositionArgs {
        size: 5 * E6,
        price_limit_e9: 0,
    };
    let dec = ix::decrease_position(owner, pool, m, o, quote, args, risk.pda);
    b.measure(
        "decrease_position",
        mk.label(""),
        None,
        &[dec],
        &[&trader.kp],
    );
    let add = ix::add_collateral(owner, pool, m, o, quote, 10 * E6);
    b.measure("add_collateral", mk.label(""), None, &[add], &[&trader.kp]);
    let rem = ix::remove_collateral(owner, pool, m, o, quote, 10 * E6);
    b.measure(
        "remove_collateral",
        mk.label(""),
        None,
        &[rem],
        &[&trader.kp],
    );
}

/// A deposit and a withdrawal with open interest in every market (budgeted at 32 markets).
fn lp_with_open_interest(b: &mut Bench, mk: &Markets, lp: &Lp) {
    let budget_lp = if mk.n == 32 { Some(60_000) } else { None };
    let dep = ix::deposit(
        &lp.kp.pubkey(),
        &mk.pool,
        &lp.quote,
        &lp.shares,
        &mk.oracles,
        DepositArgs {
            amount: 1_000 * E6,
            min_shares: 0,
        },
    );
    let label = mk.label(" with open interest");
    b.measure("deposit", label.clone(), budget_lp, &[dep], &[&lp.kp]);
    let wd = ix::withdraw(
        &lp.kp.pubkey(),
        &mk.pool,
        &lp.quote,
        &lp.shares,
        &mk.oracles,
        WithdrawArgs {
            shares: 1_000 * E6,
            min_amount: 0,
        },
    );
    b.measure("withdraw", label, budget_lp, &[wd], &[&lp.kp]);
}

/// A day later: every price refreshed (8 per transaction), then funding on the last market.
fn funding_day(b: &mut Bench, mk: &Markets) {
    let oracle_auth = b.oracle_auth.insecure_clone();
    b.set_time(b.now + 86_400);
    let refresh: Vec<Instruction> = mk
        .oracles
        .iter()
        .map(|o| b.push_price(&mk.pool, o, 100.0))
        .collect();
    for chunk in refresh.chunks(8) {
        b.must("refresh prices", chunk, &[&oracle_auth]);
    }
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
    let args = OpenPositionArgs {
        size: 10 * E6 as i64,
        collateral: 60 * E6,
        price_limit_e9: u64::MAX,
    };
    let open = open_ix(mk, risk, &risky, (&mk.m, &mk.o), args);
    b.must("risky open", &[open], &[&risky.kp]);
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

/// The trader closes the position in the last market.
fn close_position(b: &mut Bench, mk: &Markets, risk: &RiskModel, trader: &User) {
    let owner = trader.kp.pubkey();
    let close = ix::close_position(&owner, &mk.pool, &mk.m, &mk.o, &trader.quote, 0, risk.pda);
    b.measure(
        "close_position",
        mk.label(""),
        Some(40_000),
        &[close],
        &[&trader.kp],
    );
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
    let args = OpenPositionArgs {
        size: E6 as i64,
        collateral: 100 * E6,
        price_limit_e9: u64::MAX,
    };
    let open = open_ix(mk, risk, &late, (&mk.m, &mk.o), args);
    b.measure(
        "open_position",
        mk.label(", first fill after a risk commit"),
        mk.open_budget(),
        &[open],
        &[&late.kp],
    );
    ix::position_pda(&mk.m, &late.kp.pubkey())
}

/// The portfolio premium: q from the whole book's IS against the pool's capital. A hedging
/// fill under it, then `refresh_imbalance`. Returns the hedge's position.
fn portfolio_premium(b: &mut Bench, mk: &Markets, risk: &RiskModel) -> Pubkey {
    let admin = b.admin.insecure_clone();
    let portfolio = ix::set_risk_limits(
        &admin.pubkey(),
        &mk.pool,
        RiskLimits {
            max_imbalance_bps: 10_000,
            premium_mode: premium_mode::PORTFOLIO,
            premium_horizon_secs: 86_400,
        },
    );
    if mk.n == 1 {
        b.measure("set_risk_limits", "", None, &[portfolio], &[&admin]);
    } else {
        b.must("set_risk_limits", &[portfolio], &[&admin]);
    }
    let (kp, quote) = b.user(1_000 * E6);
    let hedger = User { kp, quote };
    let args = OpenPositionArgs {
        size: -(E6 as i64),
        collateral: 100 * E6,
        price_limit_e9: 0,
    };
    let open = open_ix(mk, risk, &hedger, (&mk.m, &mk.o), args);
    b.measure(
        "open_position",
        mk.label(", portfolio premium"),
        mk.open_budget(),
        &[open],
        &[&hedger.kp],
    );
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
fn admin_instructions(b: &mut Bench, mk: &Markets, lp: &Lp) {
    let admin = b.admin.insecure_clone();
    let admin_key = admin.pubkey();
    let (pool, m) = (&mk.pool, &mk.m);
    let update = ix::update_market(&admin_key, pool, m, market_params());
    b.measure("update_market", "", None, &[update], &[&admin]);
    let pause = ix::set_pause(&admin_key, pool, 0);
    b.measure("set_pause", "", None, &[pause], &[&admin]);
    let propose = ix::propose_authority(&admin_key, pool, admin_key);
    b.measure("propose_authority", "", None, &[propose], &[&admin]);
    let accept = ix::accept_authority(&admin_key, pool);
    b.measure("accept_authority", "", None, &[accept], &[&admin]);
    let fund = ix::fund_default_fund(&lp.kp.pubkey(), pool, &lp.quote, 100 * E6);
    b.measure("fund_default_fund", "", None, &[fund], &[&lp.kp]);
}

/// Smoke: the vault holds exactly the pool's accounting; collateral sums over positions.
fn check_accounting(b: &mut Bench, mk: &Markets, positions: &[Pubkey]) {
    let p = b.pool(&mk.pool);
    let vault = b.balance(&ix::vault_pda(&mk.pool));
    if vault as u128 != p.lp_capital as u128 + p.default_fund as u128 + p.total_collateral as u128 {
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
