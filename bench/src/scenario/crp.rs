//! The collateral-pool scenario: one pool's whole life.

use keel::client::perp as ix;
use perp_amm::instructions::*;
use perp_amm::state::OracleKind;
use solana_signer::Signer;

use crate::harness::{Bench, E6, E9, key};
use crate::params;
use crate::table::Row;

impl Bench {
    /// The collateral pool's life on one pool: creation, lending, two borrows, swaps both ways
    /// and both modes, a rebalance, a crash that triggers the flight to quality, the conversion
    /// sale, settlement and both redemptions. Rows go to `crp_rows`.
    pub fn crp_scenario(&mut self, so: &[u8]) -> Vec<Row> {
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
}
