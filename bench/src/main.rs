//! Compute-unit benchmark and SBF smoke scenario for perp-amm and collateral-pool.
//!
//!     bash bench/run.sh        # SBF build (../shared/tools/sbf) + this binary
//!
//! Loads `target/deploy/perp_amm.so` (an SBPF v3 ELF) into litesvm 0.16 and drives a realistic
//! flow through every instruction, with 1, 10, 16 and 32 active markets (each with open
//! interest, so LP valuation prices every one). Each measured transaction holds only the
//! instruction itself; the table is instruction, scenario, CU consumed and the budget.
//! Token CPIs run through litesvm's p-token (a transfer costs ~76 CU; classic SPL Token ~4.5k).
//!
//! The flow doubles as the smoke test of the SBF build: any unexpected failure, or a vault that
//! does not equal the pool's accounting at the end, exits non-zero.

mod params;

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::{program_pack::Pack, system_instruction};
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use keel::client::perp as ix;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, Pool, Position, premium_mode};
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;

const E6: u64 = 1_000_000;
const E9: u64 = 1_000_000_000;
const START: i64 = 1_767_225_600;

type Instruction = anchor_lang::solana_program::instruction::Instruction;

/// Deterministic keypairs: PDA bump searches cost ~1.5k CU per attempt, so random keys would
/// make every run's figures differ; fixed keys make the table reproducible.
fn key(n: &mut u8) -> Keypair {
    *n += 1;
    let mut secret = [0x5eu8; 32];
    secret[0] = *n;
    Keypair::new_from_array(secret)
}

/// ComputeBudgetInstruction::SetComputeUnitLimit.
fn compute_limit(units: u32) -> Instruction {
    let mut data = vec![2u8];
    data.extend_from_slice(&units.to_le_bytes());
    Instruction {
        program_id: anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111"),
        accounts: vec![],
        data,
    }
}

struct Row {
    instruction: &'static str,
    scenario: String,
    cu: Option<u64>,
    budget: Option<u64>,
    note: String,
}

struct Bench {
    svm: litesvm::LiteSVM,
    payer: Keypair,
    admin: Keypair,
    oracle_auth: Keypair,
    mint_auth: Keypair,
    mint: Pubkey,
    now: i64,
    rows: Vec<Row>,
    failures: Vec<String>,
    keys: u8,
}

impl Bench {
    fn new(so: &[u8]) -> Self {
        let mut svm = litesvm::LiteSVM::new();
        svm.add_program(perp_amm::ID, so).expect("load perp_amm.so");
        let mut keys = 0u8;
        let payer = key(&mut keys);
        let (admin, oracle_auth, mint_auth) = (key(&mut keys), key(&mut keys), key(&mut keys));
        for k in [&payer, &admin, &oracle_auth, &mint_auth] {
            svm.airdrop(&k.pubkey(), 10_000 * E9).expect("airdrop");
        }
        let mut b = Bench {
            svm,
            payer,
            admin,
            oracle_auth,
            mint_auth,
            mint: Pubkey::default(),
            now: START,
            rows: vec![],
            failures: vec![],
            keys,
        };
        b.set_time(START);
        b.mint = b.create_mint(6);
        b
    }

    fn set_time(&mut self, ts: i64) {
        self.now = ts;
        let clock = Clock {
            unix_timestamp: ts,
            slot: (ts - START + 1) as u64,
            ..Default::default()
        };
        self.svm.set_sysvar(&clock);
    }

    /// Send and return the compute units consumed, or the error text.
    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<u64, String> {
        let mut all: Vec<&Keypair> = vec![&self.payer];
        all.extend_from_slice(signers);
        let msg = Message::new(ixs, Some(&self.payer.pubkey()));
        let tx = Transaction::new(&all, msg, self.svm.latest_blockhash());
        let result = self.svm.send_transaction(tx);
        self.svm.expire_blockhash();
        match result {
            Ok(meta) => Ok(meta.compute_units_consumed),
            Err(e) => Err(format!(
                "{:?}: {}",
                e.err,
                e.meta
                    .logs
                    .iter()
                    .rev()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" | ")
            )),
        }
    }

    /// Send, record the CU under `instruction`/`scenario`, note failures. The transaction asks
    /// for 1.4M CU so costs beyond the default 200k per instruction are still measured (and
    /// flagged); the compute-budget instruction's own cost is subtracted.
    fn measure(
        &mut self,
        instruction: &'static str,
        scenario: impl Into<String>,
        budget: Option<u64>,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) {
        let scenario = scenario.into();
        let mut with_limit = vec![compute_limit(1_400_000)];
        with_limit.extend_from_slice(ixs);
        let overhead = self.limit_overhead();
        match self.send(&with_limit, signers) {
            Ok(cu) => {
                let cu = cu - overhead;
                let note = if cu > 200_000 {
                    "over the default 200k limit".to_string()
                } else {
                    String::new()
                };
                self.rows.push(Row {
                    instruction,
                    scenario,
                    cu: Some(cu),
                    budget,
                    note,
                })
            }
            Err(e) => {
                self.failures
                    .push(format!("{instruction} ({scenario}): {e}"));
                self.rows.push(Row {
                    instruction,
                    scenario,
                    cu: None,
                    budget,
                    note: "FAILED".into(),
                });
            }
        }
    }

    /// CU of a transaction holding only the compute-limit instruction.
    fn limit_overhead(&mut self) -> u64 {
        self.send(&[compute_limit(1_400_000)], &[])
            .expect("compute-budget instruction")
    }

    fn must(&mut self, what: &str, ixs: &[Instruction], signers: &[&Keypair]) {
        if let Err(e) = self.send(ixs, signers) {
            self.failures.push(format!("setup {what}: {e}"));
        }
    }

    fn create_mint(&mut self, decimals: u8) -> Pubkey {
        let mint = key(&mut self.keys);
        let rent = self
            .svm
            .minimum_balance_for_rent_exemption(spl_token::state::Mint::LEN);
        let ixs = [
            system_instruction::create_account(
                &self.payer.pubkey(),
                &mint.pubkey(),
                rent,
                spl_token::state::Mint::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_mint2(
                &spl_token::ID,
                &mint.pubkey(),
                &self.mint_auth.pubkey(),
                None,
                decimals,
            )
            .unwrap(),
        ];
        self.must("create mint", &ixs, &[&mint]);
        mint.pubkey()
    }

    fn token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let acct = key(&mut self.keys);
        let rent = self
            .svm
            .minimum_balance_for_rent_exemption(spl_token::state::Account::LEN);
        let ixs = [
            system_instruction::create_account(
                &self.payer.pubkey(),
                &acct.pubkey(),
                rent,
                spl_token::state::Account::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_account3(
                &spl_token::ID,
                &acct.pubkey(),
                mint,
                owner,
            )
            .unwrap(),
        ];
        self.must("create token account", &ixs, &[&acct]);
        acct.pubkey()
    }

    fn user(&mut self, quote: u64) -> (Keypair, Pubkey) {
        let kp = key(&mut self.keys);
        self.svm.airdrop(&kp.pubkey(), 10 * E9).expect("airdrop");
        let mint = self.mint;
        let acct = self.token_account(&mint, &kp.pubkey());
        let mint_to = spl_token::instruction::mint_to(
            &spl_token::ID,
            &mint,
            &acct,
            &self.mint_auth.pubkey(),
            &[],
            quote,
        )
        .unwrap();
        let auth = self.mint_auth.insecure_clone();
        self.must("mint", &[mint_to], &[&auth]);
        (kp, acct)
    }

    fn balance(&self, acct: &Pubkey) -> u64 {
        let a = self.svm.get_account(acct).expect("token account");
        spl_token::state::Account::unpack(&a.data).unwrap().amount
    }

    fn pool(&self, key: &Pubkey) -> Pool {
        let a = self.svm.get_account(key).expect("pool");
        assert_eq!(&a.data[..8], Pool::DISCRIMINATOR);
        bytemuck::pod_read_unaligned(&a.data[8..8 + core::mem::size_of::<Pool>()])
    }

    fn position(&self, key: &Pubkey) -> Option<Position> {
        let a = self.svm.get_account(key)?;
        Position::try_deserialize(&mut &a.data[..]).ok()
    }

    fn mint_to(&mut self, mint: &Pubkey, to: &Pubkey, amount: u64) {
        let ix = spl_token::instruction::mint_to(
            &spl_token::ID,
            mint,
            to,
            &self.mint_auth.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        let auth = self.mint_auth.insecure_clone();
        self.must("mint", &[ix], &[&auth]);
    }

    /// The collateral pool's life on one pool: creation, lending, two borrows, swaps both ways
    /// and both modes, a rebalance, a crash that triggers the flight to quality, the conversion
    /// sale, settlement and both redemptions. Rows go to `crp_rows`.
    fn crp_scenario(&mut self, so: &[u8]) -> Vec<Row> {
        use collateral_pool::instructions as c;
        use keel::client::crp as cix;
        self.svm
            .add_program(collateral_pool::ID, so)
            .expect("load collateral_pool.so");
        let perp_rows = std::mem::take(&mut self.rows);
        let admin = self.admin.insecure_clone();
        let oracle_auth = self.oracle_auth.insecure_clone();
        let mint = self.mint;
        // a perp pool only for its push oracle (the feed both programs read)
        let perp_pool_id = 100;
        let init = ix::init_pool(
            &admin.pubkey(),
            &mint,
            InitPoolArgs {
                pool_id: perp_pool_id,
                lp_fee_share_bps: 8_000,
                target_default_prob_e9: E9 / 100,
                min_deposit: 10 * E6,
                oracle_authority: oracle_auth.pubkey(),
            },
        );
        self.must("perp pool for the oracle", &[init], &[&admin]);
        let perp_pool = ix::pool_pda(&mint, perp_pool_id);
        let mut feed_id = [0u8; 32];
        feed_id[0] = 0xc0;
        let oracle = ix::push_oracle_pda(&perp_pool, &feed_id);
        let init_oracle = ix::init_push_oracle(&oracle_auth.pubkey(), &perp_pool, feed_id, -6);
        let price = self.push_price(&perp_pool, &oracle, 100.0);
        self.must("oracle", &[init_oracle, price], &[&oracle_auth]);

        let risky = self.create_mint(6);
        let expiry = self.now + 90 * 86_400;
        let keys = cix::PoolKeys::new(risky, mint, expiry, oracle);
        let params = params::crp_params();
        let keeper = key(&mut self.keys);
        let args = c::InitCrpPoolArgs {
            expiry,
            params,
            keeper: keeper.pubkey(),
            oracle_kind: OracleKind::Push,
            feed_id,
            oracle_pool: perp_pool,
        };
        self.measure(
            "init_pool",
            "vaults, claim mints, first delta",
            None,
            &[cix::init_pool(&admin.pubkey(), &keys, args)],
            &[&admin],
        );

        let (lender, lender_cash) = self.user(1_000_000 * E6);
        let lender_claims = self.token_account(&keys.lender_mint, &lender.pubkey());
        let lend = |amount| c::LendArgs {
            amount,
            min_claims: 0,
        };
        self.measure(
            "lend",
            "",
            None,
            &[cix::lend(
                &lender.pubkey(),
                &keys,
                &lender_cash,
                &lender_claims,
                lend(200_000 * E6),
            )],
            &[&lender],
        );
        let (borrower, borrower_cash) = self.user(1_000_000 * E6);
        let borrower_risky = self.token_account(&risky, &borrower.pubkey());
        self.mint_to(&risky, &borrower_risky, 10_000 * E6);
        let borrower_residual = self.token_account(&keys.residual_mint, &borrower.pubkey());
        let borrow = |collateral, loan| c::BorrowArgs {
            collateral,
            loan,
            max_riskless_leg: u64::MAX,
            min_residual: 0,
        };
        let accounts = (&borrower_risky, &borrower_cash, &borrower_residual);
        self.measure(
            "borrow",
            "first borrower (leg from the weight)",
            None,
            &[cix::borrow(
                &borrower.pubkey(),
                &keys,
                accounts,
                borrow(1_000 * E6, 80_000 * E6),
            )],
            &[&borrower],
        );
        self.measure(
            "borrow",
            "joining at the pool's proportions",
            None,
            &[cix::borrow(
                &borrower.pubkey(),
                &keys,
                accounts,
                borrow(500 * E6, 40_000 * E6),
            )],
            &[&borrower],
        );
        let (arb, arb_cash) = self.user(10_000_000 * E6);
        let arb_risky = self.token_account(&risky, &arb.pubkey());
        self.mint_to(&risky, &arb_risky, 10_000 * E6);
        let swap = |risky_in, exact_in, amount, limit| {
            cix::swap(
                &arb.pubkey(),
                &keys,
                &arb_risky,
                &arb_cash,
                c::SwapArgs {
                    risky_in,
                    exact_in,
                    amount,
                    limit,
                },
            )
        };
        let cases = [
            ("riskless in, exact in", false, true, 5_000 * E6, 0),
            ("risky in, exact in", true, true, 50 * E6, 0),
            ("risky out, exact out", false, false, 20 * E6, u64::MAX),
            ("riskless out, exact out", true, false, 2_000 * E6, u64::MAX),
        ];
        for (label, risky_in, exact_in, amount, limit) in cases {
            let ix = swap(risky_in, exact_in, amount, limit);
            self.measure("swap", label, Some(30_000), &[ix], &[&arb]);
        }
        let operator = self.user(100_000 * E6);
        self.measure(
            "fund_reserve",
            "",
            None,
            &[cix::fund_reserve(
                &operator.0.pubkey(),
                &keys,
                &operator.1,
                10_000 * E6,
            )],
            &[&operator.0],
        );
        self.measure(
            "set_pause",
            "",
            None,
            &[cix::set_pause(&admin.pubkey(), &keys.pool, 0)],
            &[&admin],
        );

        self.set_time(self.now + 86_400);
        let p = self.push_price(&perp_pool, &oracle, 90.0);
        self.must("price", &[p], &[&oracle_auth]);
        self.measure(
            "rebalance",
            "EMA of Φ(d1), one day on",
            Some(25_000),
            &[cix::rebalance(&keeper.pubkey(), &keys)],
            &[&keeper],
        );
        self.set_time(self.now + 60);
        let p = self.push_price(&perp_pool, &oracle, 10.0);
        self.must("crash", &[p], &[&oracle_auth]);
        self.measure(
            "trigger_conversion",
            "debt/value past the threshold",
            None,
            &[cix::trigger_conversion(&arb.pubkey(), &keys)],
            &[&arb],
        );
        self.measure(
            "swap",
            "conversion sale, part",
            Some(30_000),
            &[swap(false, false, 100 * E6, u64::MAX)],
            &[&arb],
        );
        let left = {
            let a = self.svm.get_account(&keys.pool).expect("crp pool");
            let pool: collateral_pool::state::CrpPool = bytemuck::pod_read_unaligned(
                &a.data[8..8 + core::mem::size_of::<collateral_pool::state::CrpPool>()],
            );
            pool.risky_balance
        };
        self.measure(
            "swap",
            "conversion sale, the rest (pool freezes)",
            Some(30_000),
            &[swap(false, false, left, u64::MAX)],
            &[&arb],
        );
        self.set_time(expiry);
        self.measure(
            "settle",
            "",
            None,
            &[cix::settle(&arb.pubkey(), &keys)],
            &[&arb],
        );
        let claims = self.balance(&lender_claims);
        self.measure(
            "redeem_lender",
            "",
            None,
            &[cix::redeem_lender(
                &lender.pubkey(),
                &keys,
                &lender_claims,
                &lender_cash,
                claims,
            )],
            &[&lender],
        );
        let residual = self.balance(&borrower_residual);
        self.measure(
            "redeem_borrower",
            "",
            None,
            &[cix::redeem_borrower(
                &borrower.pubkey(),
                &keys,
                (&borrower_residual, &borrower_risky, &borrower_cash),
                residual,
            )],
            &[&borrower],
        );
        // the smoke check: after both redemptions the riskless vault holds only the reserve
        let a = self.svm.get_account(&keys.pool).expect("crp pool");
        let pool: collateral_pool::state::CrpPool = bytemuck::pod_read_unaligned(
            &a.data[8..8 + core::mem::size_of::<collateral_pool::state::CrpPool>()],
        );
        let vault = self.balance(&keys.riskless_vault);
        if vault as u128 != pool.riskless_total()
            || pool.lender_face != 0
            || pool.residual_supply != 0
        {
            self.failures.push(format!(
                "collateral pool: vault {vault} vs accounting {}, claims left {} / {}",
                pool.riskless_total(),
                pool.lender_face,
                pool.residual_supply
            ));
        }
        std::mem::replace(&mut self.rows, perp_rows)
    }

    fn push_price(&mut self, pool: &Pubkey, oracle: &Pubkey, price: f64) -> Instruction {
        let args = PushPriceArgs {
            price: (price * 1e6) as i64,
            conf: 0,
            publish_time: self.now,
        };
        ix::update_push_oracle(&self.oracle_auth.pubkey(), pool, oracle, args)
    }

    /// A pool with `n` markets at price 100, LP capital, and open interest in every market.
    fn scenario(&mut self, n: u8, pool_id: u64) {
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

/// Per-kernel CU: each kernel's transaction minus a no-op carrying the same arguments.
fn kernels(so: &[u8]) -> Vec<(String, Vec<u64>, Vec<u64>)> {
    use keel_math::Fix;
    use math_bench::Kernel as K;
    let mut svm = litesvm::LiteSVM::new();
    svm.add_program(math_bench::ID, so)
        .expect("load math_bench.so");
    let payer = key(&mut 200);
    svm.airdrop(&payer.pubkey(), 1_000 * E9).unwrap();
    let mut run = |kernel: K, args: Vec<i128>| -> u64 {
        let mut cu = [0u64; 2];
        for (slot, k) in [(0, K::Noop), (1, kernel)] {
            let ix = Instruction {
                program_id: math_bench::ID,
                accounts: anchor_lang::ToAccountMetas::to_account_metas(
                    &math_bench::accounts::Run {},
                    None,
                ),
                data: anchor_lang::InstructionData::data(&math_bench::instruction::Run {
                    kernel: k,
                    args: args.clone(),
                }),
            };
            let tx = Transaction::new(
                &[&payer],
                Message::new(&[ix], Some(&payer.pubkey())),
                svm.latest_blockhash(),
            );
            let meta = svm
                .send_transaction(tx)
                .unwrap_or_else(|e| panic!("{kernel:?} {args:?}: {:?} {:?}", e.err, e.meta.logs));
            svm.expire_blockhash();
            cu[slot] = meta.compute_units_consumed;
        }
        cu[1] - cu[0]
    };
    let f = |v: &str| v.parse::<Fix>().unwrap().to_bits();
    let e12 = |v: f64| (v * 1e12).round() as i128;
    let prob = |v: &str| v.parse::<keel_math::Prob>().unwrap().to_bits() as i128;
    let mut rows = vec![];
    let mut row = |name: &str, ours: Vec<(K, Vec<i128>)>, theirs: Vec<(K, Vec<i128>)>| {
        let a: Vec<u64> = ours.into_iter().map(|(k, v)| run(k, v)).collect();
        let b: Vec<u64> = theirs.into_iter().map(|(k, v)| run(k, v)).collect();
        rows.push((name.to_string(), a, b));
    };
    let xs = ["-10", "-1", "0.5", "3", "20"];
    row(
        "exp",
        xs.iter().map(|x| (K::Exp, vec![f(x)])).collect(),
        xs.iter()
            .map(|x| (K::SolExp, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let ls = ["0.000001", "0.01", "0.9", "1.5", "1000"];
    row(
        "ln",
        ls.iter().map(|x| (K::Ln, vec![f(x)])).collect(),
        ls.iter()
            .map(|x| (K::SolLn, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let ps = [
        ("0.01", "0.5"),
        ("1.5", "2.5"),
        ("1000", "0.37"),
        ("0.8", "4"),
    ];
    row(
        "pow",
        ps.iter().map(|(x, y)| (K::Pow, vec![f(x), f(y)])).collect(),
        ps.iter()
            .map(|(x, y)| {
                (
                    K::SolPow,
                    vec![e12(x.parse().unwrap()), e12(y.parse().unwrap())],
                )
            })
            .collect(),
    );
    let ss = ["0.000001", "2", "12345.678", "1000000000"];
    row(
        "sqrt",
        ss.iter().map(|x| (K::Sqrt, vec![f(x)])).collect(),
        ss.iter()
            .map(|x| (K::SolSqrt, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let cs = ["-6", "-1", "0.25", "2.5"];
    row(
        "norm_cdf",
        cs.iter().map(|x| (K::NormCdf, vec![f(x)])).collect(),
        cs.iter()
            .map(|x| (K::SolNormCdf, vec![e12(x.parse().unwrap())]))
            .collect(),
    );
    let qs = ["0.000000001", "0.01", "0.3", "0.9"];
    row(
        "norm_inv",
        qs.iter().map(|p| (K::NormInv, vec![prob(p)])).collect(),
        qs.iter()
            .map(|p| (K::SolNormInv, vec![e12(p.parse().unwrap())]))
            .collect(),
    );
    let bs = [
        ("100", "100", "0.8", "0.25"),
        ("80", "100", "0.8", "0.5"),
        ("130", "100", "0.5", "0.0821917808"),
    ];
    row(
        "bs_delta",
        bs.iter()
            .map(|(s, k, v, t)| (K::BsDelta, vec![f(s), f(k), f(v), f(t)]))
            .collect(),
        bs.iter()
            .map(|(s, k, v, t)| {
                (
                    K::SolBsDelta,
                    vec![
                        e12(s.parse().unwrap()),
                        e12(k.parse().unwrap()),
                        e12(v.parse().unwrap()),
                        e12(t.parse().unwrap()),
                    ],
                )
            })
            .collect(),
    );
    row(
        "d8x q",
        vec![
            (
                K::D8xQ,
                vec![f("11"), f("1100"), f("100"), f("100"), f("0.05")],
            ),
            (
                K::D8xQ,
                vec![f("-5"), f("-500"), f("100"), f("100"), f("0.05")],
            ),
        ],
        vec![],
    );
    row(
        "weighted out_given_in",
        vec![(
            K::WeightedOut,
            vec![
                1_000_000_000_000,
                f("0.8"),
                1_000_000_000_000,
                f("0.2"),
                10_000_000_000,
            ],
        )],
        vec![],
    );
    // profiling primitives (operands > 2^64 so the u128 paths do full work)
    row(
        "mul_q64 (256-bit product)",
        vec![(K::MulQ64, vec![f("12345.678"), f("-9.87654321")])],
        vec![],
    );
    row(
        "u128 multiply",
        vec![(K::MulU128, vec![f("12345.678"), f("9.87654321")])],
        vec![],
    );
    row(
        "harness: reading one argument",
        vec![(K::ArgOnly, vec![f("2.5")])],
        vec![],
    );
    row(
        "64x64 high word, 32-bit limbs",
        vec![(
            K::MulHiLimbs,
            vec![0x9e37_79b9_7f4a_7c15, 0xbf58_476d_1ce4_e5b9],
        )],
        vec![],
    );
    for n in [8usize, 16, 32] {
        let mut args = vec![n as i128];
        args.extend(
            (0..n).map(|i| Fix::from_num(1_000_000 * (i as i64 % 5 - 2) + 12_345).to_bits()),
        );
        row(
            &format!("imbalance score n={n}"),
            vec![(K::Imbalance, args)],
            vec![],
        );
        // the program's exact integer form: K in 10^-3 USD, up to ±$2M of one-day σ
        let mut args = vec![n as i128];
        args.extend((0..n).map(|i| 1_000_000_000 * (i as i128 % 5 - 2) + 12_345));
        row(
            &format!("imbalance score n={n}, integer book"),
            vec![(K::ImbalanceBook, args)],
            vec![],
        );
    }
    rows
}

fn print_rows(rows: &[Row]) {
    println!("| instruction | scenario | CU | budget | |");
    println!("|---|---|---:|---:|---|");
    for r in rows {
        let cu = r.cu.map_or("–".into(), |c| c.to_string());
        let budget = r.budget.map_or(String::new(), |x| format!("≤ {x}"));
        let verdict = match (r.cu, r.budget) {
            (Some(c), Some(x)) if c <= x => "within",
            (Some(c), Some(_)) if c > 200_000 => "OVER, and over the default 200k limit",
            (Some(_), Some(_)) => "OVER",
            _ => r.note.as_str(),
        };
        println!(
            "| {} | {} | {cu} | {budget} | {verdict} |",
            r.instruction, r.scenario
        );
    }
}

fn span(v: &[u64]) -> String {
    match (v.iter().min(), v.iter().max()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "–".into(),
    }
}

fn main() {
    let so_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/deploy/perp_amm.so".into());
    let so = std::fs::read(&so_path)
        .unwrap_or_else(|e| panic!("{so_path}: {e} (build it first: bash bench/run.sh)"));
    let math_path = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "target/deploy/math_bench.so".into());
    if let Ok(math_so) = std::fs::read(&math_path) {
        let budgets = [
            ("exp", 700),
            ("ln", 450),
            ("pow", 1_800),
            ("norm_cdf", 700),
            ("imbalance score n=32", 40_000),
            ("imbalance score n=32, integer book", 40_000),
        ];
        println!(
            "math kernels, CU per call on SBF (same harness and build; min–max over the inputs)\n"
        );
        println!("| kernel | keel-math CU | solmath 0.2.0 CU | budget |");
        println!("|---|---:|---:|---:|");
        for (name, ours, theirs) in kernels(&math_so) {
            let budget = budgets
                .iter()
                .find(|(k, _)| *k == name)
                .map_or(String::new(), |(_, b)| format!("≤ {b}"));
            println!(
                "| {name} | {} | {} | {budget} |",
                span(&ours),
                span(&theirs)
            );
        }
        println!();
    } else {
        eprintln!("{math_path} not found: skipping the kernel table (bash bench/run.sh builds it)");
    }
    if std::env::var_os("KEEL_BENCH_KERNELS_ONLY").is_some() {
        return;
    }
    let mut b = Bench::new(&so);
    for (i, n) in [1u8, 10, 16, 32].into_iter().enumerate() {
        b.scenario(n, i as u64);
    }
    let crp_path = std::env::args()
        .nth(3)
        .unwrap_or_else(|| "target/deploy/collateral_pool.so".into());
    let crp_rows = match std::fs::read(&crp_path) {
        Ok(crp_so) => b.crp_scenario(&crp_so),
        Err(e) => {
            b.failures
                .push(format!("{crp_path}: {e} (bash bench/run.sh builds it)"));
            vec![]
        }
    };
    println!("perp-amm compute units (SBF build, litesvm 0.16, token CPIs through p-token)\n");
    print_rows(&b.rows);
    println!("\ncollateral-pool compute units (same build and harness)\n");
    print_rows(&crp_rows);
    if b.failures.is_empty() {
        println!(
            "\nsmoke: every instruction of both programs ran on the SBF build and the vaults equal the pools' accounting"
        );
    } else {
        eprintln!("\nsmoke FAILED:");
        for f in &b.failures {
            eprintln!("  {f}");
        }
        std::process::exit(1);
    }
}
