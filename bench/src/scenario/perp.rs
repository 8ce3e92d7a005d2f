//! The perp-amm scenario: a pool with `n` markets, LP capital and open interest in every market.

use keel::client::perp as ix;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, premium_mode};
use solana_signer::Signer;

use crate::harness::{Bench, E6, E9, Instruction, key};
use crate::params;

impl Bench {
    /// A pool with `n` markets at price 100, LP capital, and open interest in every market.
    pub fn scenario(&mut self, n: u8, pool_id: u64) {
        let label =
            |what: &str| format!("{n} active market{}{what}", if n == 1 { "" } else { "s" });
        let admin = self.admin.insecure_clone();
        let oracle_auth = self.oracle_auth.insecure_clone();
        let mint = self.mint;
        let init = ix::init_pool(
            &admin.pubkey(),
            &mint,
            InitPoolArgs {
                pool_id,
                lp_fee_share_bps: 8_000,
                target_default_prob_e9: E9 / 100,
                min_deposit: 10 * E6,
                oracle_authority: oracle_auth.pubkey(),
            },
        );
        if n == 1 {
            self.measure(
                "init_pool",
                "vault, LP mint, 9 KB pool",
                None,
                &[init],
                &[&admin],
            )
        } else {
            self.must("init_pool", &[init], &[&admin])
        }
        let pool = ix::pool_pda(&mint, pool_id);
        let mut oracles = vec![];
        for i in 0..n {
            let feed_id = [
                i, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0,
            ];
            let init_oracle = ix::init_push_oracle(&oracle_auth.pubkey(), &pool, feed_id, -6);
            let oracle = ix::push_oracle_pda(&pool, &feed_id);
            let price = self.push_price(&pool, &oracle, 100.0);
            let add = ix::add_market(
                &admin.pubkey(),
                &pool,
                i,
                &oracle,
                AddMarketArgs {
                    symbol: [0; 16],
                    base_decimals: 6,
                    oracle_kind: OracleKind::Push,
                    feed_id,
                    params: params::market_params(),
                },
            );
            if n == 1 {
                self.measure(
                    "init_push_oracle",
                    "",
                    None,
                    &[init_oracle],
                    &[&oracle_auth],
                );
                self.measure("update_push_oracle", "", None, &[price], &[&oracle_auth]);
                self.measure("add_market", "first market", None, &[add], &[&admin]);
            } else if i == n - 1 && n == 32 {
                self.must("init oracle", &[init_oracle, price], &[&oracle_auth]);
                self.measure("add_market", "32nd market", None, &[add], &[&admin]);
            } else {
                self.must("init oracle", &[init_oracle, price], &[&oracle_auth]);
                self.must("add market", &[add], &[&admin]);
            }
            oracles.push(oracle);
        }
        let (lp, lp_quote) = self.user(10_000_000 * E6);
        let lp_mint = ix::lp_mint_pda(&pool);
        let lp_acct = self.token_account(&lp_mint, &lp.pubkey());
        let first = ix::deposit(
            &lp.pubkey(),
            &pool,
            &lp_quote,
            &lp_acct,
            &oracles,
            DepositArgs {
                amount: 5_000_000 * E6,
                min_shares: 0,
            },
        );
        self.must("first deposit", &[first], &[&lp]);

        // the risk model before any trading: σ and an equicorrelated R (ρ = 0.5, positive definite)
        // for n markets, staged in transaction-sized writes and committed (its PSD check grows as
        // n³); from here every fill passes it and moves the pool's Imbalance Score
        let publisher = key(&mut self.keys);
        let init_risk = ix::init_risk_model(
            &admin.pubkey(),
            &pool,
            InitRiskModelArgs {
                risk_authority: publisher.pubkey(),
                max_sigma_step_bps: 2_000,
                max_corr_step_e9: 100_000_000,
                psd_tolerance_e9: 1_000,
                limits: RiskLimits {
                    max_imbalance_bps: 10_000,
                    premium_mode: premium_mode::PER_MARKET,
                    premium_horizon_secs: 86_400,
                },
            },
        );
        let m_count = n as usize;
        let mut full = vec![0.5; m_count * m_count];
        for i in 0..m_count {
            full[i * m_count + i] = 1.0;
        }
        let upper = keel::risk::corr_upper_e9(&full, m_count);
        let lower = keel::risk::cholesky_certificate(&full, m_count).expect("PSD");
        let writes = ix::stage_risk_writes(
            &publisher.pubkey(),
            &pool,
            &vec![50_000_000; m_count],
            &upper,
            &lower,
        )
        .expect("fits");
        if n == 1 {
            self.measure("init_risk_model", "", None, &[init_risk], &[&admin]);
            self.measure(
                "stage_risk",
                format!("{} bytes", ix::RISK_STAGE_CHUNK),
                None,
                &writes[..1],
                &[&publisher],
            );
        } else {
            self.must("init_risk_model", &[init_risk], &[&admin]);
            self.must("stage_risk", &writes[..1], &[&publisher]);
        }
        for w in &writes[1..] {
            self.must("stage_risk", std::slice::from_ref(w), &[&publisher]);
        }
        let commit = ix::commit_risk(&publisher.pubkey(), &pool, self.now);
        self.measure(
            "commit_risk",
            format!(
                "{n} market{}, PSD certificate",
                if n == 1 { "" } else { "s" }
            ),
            None,
            &[commit],
            &[&publisher],
        );

        let risk_model = Some(ix::risk_model_pda(&pool));

        // open interest in every market, so pool valuation prices each one
        let (trader, quote) = self.user(1_000_000 * E6);
        let mut positions = vec![];
        for i in 0..n {
            let market = ix::market_pda(&pool, i);
            let open = ix::open_position(
                &trader.pubkey(),
                &pool,
                &market,
                &oracles[i as usize],
                &quote,
                OpenPositionArgs {
                    size: 10 * E6 as i64,
                    collateral: 200 * E6,
                    price_limit_e9: u64::MAX,
                },
                risk_model,
            );
            if i == n - 1 {
                self.measure(
                    "open_position",
                    label(""),
                    if n == 16 { Some(45_000) } else { None },
                    &[open],
                    &[&trader],
                );
            } else {
                self.must("open", &[open], &[&trader]);
            }
            positions.push(ix::position_pda(&market, &trader.pubkey()));
        }
        let m = ix::market_pda(&pool, n - 1);
        let o = oracles[(n - 1) as usize];
        let inc = ix::increase_position(
            &trader.pubkey(),
            &pool,
            &m,
            &o,
            &quote,
            IncreasePositionArgs {
                size: 5 * E6 as i64,
                collateral: 50 * E6,
                price_limit_e9: u64::MAX,
            },
            risk_model,
        );
        self.measure("increase_position", label(""), None, &[inc], &[&trader]);
        let dec = ix::decrease_position(
            &trader.pubkey(),
            &pool,
            &m,
            &o,
            &quote,
            DecreasePositionArgs {
                size: 5 * E6,
                price_limit_e9: 0,
            },
            risk_model,
        );
        self.measure("decrease_position", label(""), None, &[dec], &[&trader]);
        let add = ix::add_collateral(&trader.pubkey(), &pool, &m, &o, &quote, 10 * E6);
        self.measure("add_collateral", label(""), None, &[add], &[&trader]);
        let rem = ix::remove_collateral(&trader.pubkey(), &pool, &m, &o, &quote, 10 * E6);
        self.measure("remove_collateral", label(""), None, &[rem], &[&trader]);

        let budget_lp = if n == 32 { Some(60_000) } else { None };
        let dep = ix::deposit(
            &lp.pubkey(),
            &pool,
            &lp_quote,
            &lp_acct,
            &oracles,
            DepositArgs {
                amount: 1_000 * E6,
                min_shares: 0,
            },
        );
        self.measure(
            "deposit",
            label(" with open interest"),
            budget_lp,
            &[dep],
            &[&lp],
        );
        let wd = ix::withdraw(
            &lp.pubkey(),
            &pool,
            &lp_quote,
            &lp_acct,
            &oracles,
            WithdrawArgs {
                shares: 1_000 * E6,
                min_amount: 0,
            },
        );
        self.measure(
            "withdraw",
            label(" with open interest"),
            budget_lp,
            &[wd],
            &[&lp],
        );

        // a day later: funding, then a leveraged position that the keeper liquidates
        self.set_time(self.now + 86_400);
        let refresh: Vec<Instruction> = oracles
            .clone()
            .iter()
            .map(|o| self.push_price(&pool, o, 100.0))
            .collect();
        for chunk in refresh.chunks(8) {
            self.must("refresh prices", chunk, &[&oracle_auth]);
        }
        self.measure(
            "update_funding",
            label(", one day of skew"),
            None,
            &[ix::update_funding(&pool, &m, &o)],
            &[],
        );
        let (risky, risky_quote) = self.user(1_000 * E6);
        let open = ix::open_position(
            &risky.pubkey(),
            &pool,
            &m,
            &o,
            &risky_quote,
            OpenPositionArgs {
                size: 10 * E6 as i64,
                collateral: 60 * E6,
                price_limit_e9: u64::MAX,
            },
            risk_model,
        );
        self.must("risky open", &[open], &[&risky]);
        let drop = self.push_price(&pool, &o, 96.0);
        self.must("price drop", &[drop], &[&oracle_auth]);
        let (keeper, keeper_quote) = self.user(0);
        let liq = ix::liquidate(
            &keeper.pubkey(),
            &pool,
            &m,
            &risky.pubkey(),
            &o,
            &keeper_quote,
            &risky_quote,
            risk_model,
        );
        self.measure("liquidate", label(""), Some(45_000), &[liq], &[&keeper]);
        let back = self.push_price(&pool, &o, 100.0);
        self.must("price back", &[back], &[&oracle_auth]);
        let close = ix::close_position(&trader.pubkey(), &pool, &m, &o, &quote, 0, risk_model);
        self.measure(
            "close_position",
            label(""),
            Some(40_000),
            &[close],
            &[&trader],
        );

        // an update a day later (σ +10 %): the step bounds are checked against the current model
        let writes = ix::stage_risk_writes(
            &publisher.pubkey(),
            &pool,
            &vec![55_000_000; m_count],
            &upper,
            &lower,
        )
        .expect("fits");
        for w in &writes {
            self.must("stage_risk", std::slice::from_ref(w), &[&publisher]);
        }
        let update = ix::commit_risk(&publisher.pubkey(), &pool, self.now - 30);
        self.measure(
            "commit_risk",
            format!("update, {}", label(", step bounds checked")),
            None,
            &[update],
            &[&publisher],
        );
        // the first fill after a commit recomputes every K and T (O(n²)); later fills are O(n)
        let (late, late_quote) = self.user(1_000 * E6);
        let open = ix::open_position(
            &late.pubkey(),
            &pool,
            &m,
            &o,
            &late_quote,
            OpenPositionArgs {
                size: E6 as i64,
                collateral: 100 * E6,
                price_limit_e9: u64::MAX,
            },
            risk_model,
        );
        self.measure(
            "open_position",
            label(", first fill after a risk commit"),
            if n == 16 { Some(45_000) } else { None },
            &[open],
            &[&late],
        );
        positions.push(ix::position_pda(&m, &late.pubkey()));

        // the portfolio premium: q from the whole book's IS against the pool's capital
        let portfolio = ix::set_risk_limits(
            &admin.pubkey(),
            &pool,
            RiskLimits {
                max_imbalance_bps: 10_000,
                premium_mode: premium_mode::PORTFOLIO,
                premium_horizon_secs: 86_400,
            },
        );
        if n == 1 {
            self.measure("set_risk_limits", "", None, &[portfolio], &[&admin]);
        } else {
            self.must("set_risk_limits", &[portfolio], &[&admin]);
        }
        let (hedger, hedger_quote) = self.user(1_000 * E6);
        let open = ix::open_position(
            &hedger.pubkey(),
            &pool,
            &m,
            &o,
            &hedger_quote,
            OpenPositionArgs {
                size: -(E6 as i64),
                collateral: 100 * E6,
                price_limit_e9: 0,
            },
            risk_model,
        );
        self.measure(
            "open_position",
            label(", portfolio premium"),
            if n == 16 { Some(45_000) } else { None },
            &[open],
            &[&hedger],
        );
        positions.push(ix::position_pda(&m, &hedger.pubkey()));
        let refresh = ix::refresh_imbalance(&pool, &oracles);
        self.measure(
            "refresh_imbalance",
            label(" with open interest"),
            None,
            &[refresh],
            &[],
        );

        if n == 1 {
            let admin_key = admin.pubkey();
            self.measure(
                "update_market",
                "",
                None,
                &[ix::update_market(
                    &admin_key,
                    &pool,
                    &m,
                    params::market_params(),
                )],
                &[&admin],
            );
            self.measure(
                "set_pause",
                "",
                None,
                &[ix::set_pause(&admin_key, &pool, 0)],
                &[&admin],
            );
            self.measure(
                "propose_authority",
                "",
                None,
                &[ix::propose_authority(&admin_key, &pool, admin_key)],
                &[&admin],
            );
            self.measure(
                "accept_authority",
                "",
                None,
                &[ix::accept_authority(&admin_key, &pool)],
                &[&admin],
            );
            let fund = ix::fund_default_fund(&lp.pubkey(), &pool, &lp_quote, 100 * E6);
            self.measure("fund_default_fund", "", None, &[fund], &[&lp]);
        }

        // smoke: the vault holds exactly the pool's accounting; collateral sums over positions
        let p = self.pool(&pool);
        let vault = self.balance(&ix::vault_pda(&pool));
        if vault as u128
            != p.lp_capital as u128 + p.default_fund as u128 + p.total_collateral as u128
        {
            self.failures
                .push(format!("{}: vault {vault} != accounting", label("")));
        }
        let collateral: u64 = positions
            .iter()
            .filter_map(|k| self.position(k))
            .map(|p| p.collateral)
            .sum();
        if collateral != p.total_collateral {
            self.failures.push(format!(
                "{}: Σ collateral {collateral} != {}",
                label(""),
                p.total_collateral
            ));
        }
    }
}
