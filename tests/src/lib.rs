//! Test harness for the Keel programs on the real Solana runtime: solana-program-test with the
//! programs run natively and the real SPL Token program doing every token CPI.
//!
//! Mango/openbook style: [`TestContext`] builds the bank, fixtures create mints and users, and
//! `ix::*` has one client helper per instruction that derives the PDAs itself.

pub mod crp;
pub mod fixture;

pub use keel::client::perp as ix;
pub use keel::client::presets as markets;
use keel::client::token;

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::{program_pack::Pack, system_instruction};
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use perp_amm::state::{Market, MarketChange, Pool, Position};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::ProgramTestContext;
use solana_signer::Signer;

pub const QUOTE_DECIMALS: u8 = 6;
/// Start of the bank clock in tests (2026-01-01).
pub const START_TIME: i64 = 1_767_225_600;

pub use keel::transport::TxError;

/// SplitMix64: small, fast and reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A numeric setting from the environment (test sizes), or `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The custom code of a program error.
pub fn perp(e: perp_amm::errors::PerpError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// The custom code of an Anchor framework error.
pub fn anchor(e: anchor_lang::error::ErrorCode) -> u32 {
    e as u32
}

/// The custom code of a collateral-pool error.
pub fn crp(e: collateral_pool::errors::CrpError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

/// Assert a transaction failed with exactly `code`.
#[track_caller]
pub fn assert_code(result: Result<(), TxError>, code: u32) {
    match result {
        Err(TxError::Custom(c)) => assert_eq!(c, code, "expected error {code}, got {c}"),
        other => panic!("expected custom error {code}, got {other:?}"),
    }
}

pub struct User {
    pub kp: Keypair,
    pub quote: Pubkey,
}

impl User {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

pub struct TestContext {
    pub ctx: ProgramTestContext,
    pub quote_mint: Pubkey,
    pub mint_authority: Keypair,
    pub admin: Keypair,
    pub oracle_authority: Keypair,
    /// Executes requests in the fixtures (paid their keeper fees).
    pub keeper: Keypair,
    pub keeper_quote: Pubkey,
    pub now: i64,
    nonce: u64,
}

impl TestContext {
    pub async fn new() -> Self {
        let pt = keel::transport::program_test();
        let ctx = pt.start_with_context().await;
        let mut t = TestContext {
            ctx,
            quote_mint: Pubkey::default(),
            mint_authority: Keypair::new(),
            admin: Keypair::new(),
            oracle_authority: Keypair::new(),
            keeper: Keypair::new(),
            keeper_quote: Pubkey::default(),
            now: START_TIME,
            nonce: 0,
        };
        t.set_time(START_TIME);
        let mint_authority = t.mint_authority.pubkey();
        t.quote_mint = t.create_mint(&mint_authority, QUOTE_DECIMALS).await;
        let keeper = t.keeper.pubkey();
        let mint = t.quote_mint;
        t.keeper_quote = t.create_token_account(&mint, &keeper).await;
        for kp in [t.admin.pubkey(), t.oracle_authority.pubkey(), keeper] {
            t.airdrop(&kp, 1_000_000_000_000).await; // 1,000 SOL: many pools per bank in the random test
        }
        t
    }

    pub fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    /// Set the bank clock's unix timestamp.
    pub fn set_time(&mut self, ts: i64) {
        self.now = ts;
        let clock = Clock {
            unix_timestamp: ts,
            slot: 1 + (ts - START_TIME).max(0) as u64,
            ..Default::default()
        };
        self.ctx.set_sysvar(&clock);
    }

    pub fn advance(&mut self, secs: i64) {
        self.set_time(self.now + secs);
    }

    /// Send instructions signed by the payer and `signers`.
    ///
    /// Every transaction gets a distinct compute-unit price (a counter), so identical
    /// instructions sent twice are distinct transactions without waiting for a new blockhash.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), TxError> {
        self.nonce += 1;
        keel::transport::send_in_context(&mut self.ctx, self.nonce, ixs, signers).await
    }

    /// [`TestContext::send`], returning the log messages (events are read from them).
    pub async fn send_logs(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<String>, TxError> {
        self.nonce += 1;
        keel::transport::send_in_context_logs(&mut self.ctx, self.nonce, ixs, signers).await
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let ix = system_instruction::transfer(&self.ctx.payer.pubkey(), to, lamports);
        self.send(&[ix], &[]).await.unwrap();
    }

    pub async fn create_mint(&mut self, authority: &Pubkey, decimals: u8) -> Pubkey {
        let mint = Keypair::new();
        let payer = self.ctx.payer.pubkey();
        let ixs = token::create_mint_ixs(
            &payer,
            &mint.pubkey(),
            authority,
            decimals,
            token::mint_rent(),
        );
        self.send(&ixs, &[&mint]).await.unwrap();
        mint.pubkey()
    }

    pub async fn create_token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = Keypair::new();
        let (payer, rent) = (self.ctx.payer.pubkey(), token::token_account_rent());
        let ixs = token::create_token_account_ixs(&payer, &account.pubkey(), mint, owner, rent);
        self.send(&ixs, &[&account]).await.unwrap();
        account.pubkey()
    }

    pub async fn mint_quote(&mut self, to: &Pubkey, amount: u64) {
        let mint = self.quote_mint;
        self.mint_to(&mint, to, amount).await
    }

    /// Mint `amount` of a mint whose authority is `mint_authority` (every test mint's).
    pub async fn mint_to(&mut self, mint: &Pubkey, to: &Pubkey, amount: u64) {
        let ix = spl_token::instruction::mint_to(
            &spl_token::ID,
            mint,
            to,
            &self.mint_authority.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        let authority = self.mint_authority.insecure_clone();
        self.send(&[ix], &[&authority]).await.unwrap();
    }

    /// A funded user: SOL for fees and rent, and `quote` native units of the quote token.
    pub async fn user(&mut self, quote: u64) -> User {
        let kp = Keypair::new();
        self.airdrop(&kp.pubkey(), 1_000_000_000).await;
        let mint = self.quote_mint;
        let account = self.create_token_account(&mint, &kp.pubkey()).await;
        if quote > 0 {
            self.mint_quote(&account, quote).await;
        }
        User { kp, quote: account }
    }

    pub async fn balance(&mut self, token_account: &Pubkey) -> u64 {
        let acc = self
            .ctx
            .banks_client
            .get_account(*token_account)
            .await
            .unwrap()
            .expect("token account");
        spl_token::state::Account::unpack(&acc.data).unwrap().amount
    }

    pub async fn account_data(&mut self, key: &Pubkey) -> Option<Vec<u8>> {
        self.ctx
            .banks_client
            .get_account(*key)
            .await
            .unwrap()
            .map(|a| a.data)
    }

    pub async fn pool(&mut self, pool: &Pubkey) -> Pool {
        let data = self.account_data(pool).await.expect("pool account");
        assert_eq!(&data[..8], Pool::DISCRIMINATOR);
        bytemuck::pod_read_unaligned(&data[8..8 + core::mem::size_of::<Pool>()])
    }

    pub async fn market(&mut self, market: &Pubkey) -> Market {
        let data = self.account_data(market).await.expect("market account");
        Market::try_deserialize(&mut &data[..]).unwrap()
    }

    /// A market's announced-change account (created by its first proposal).
    pub async fn market_change(&mut self, market: &Pubkey) -> MarketChange {
        let data = self
            .account_data(&ix::market_change_pda(market))
            .await
            .expect("market change account");
        MarketChange::try_deserialize(&mut &data[..]).unwrap()
    }

    pub async fn position(&mut self, position: &Pubkey) -> Option<Position> {
        let data = self.account_data(position).await?;
        Some(Position::try_deserialize(&mut &data[..]).unwrap())
    }

    /// The accounts a trade on `market` by `owner` reads, as `keel::client::fetch::trade_view`
    /// reads them from a cluster: for quoting with the program's own arithmetic.
    pub async fn trade_view(
        &mut self,
        pool_key: &Pubkey,
        market: &Pubkey,
        owner: &Pubkey,
    ) -> keel::client::quote::TradeView {
        use keel::client::decode;
        let pool = self.pool(pool_key).await;
        let market = self.market(market).await;
        let market_key = pool.slot(market.index).unwrap().market;
        let position = self
            .position(&keel::client::perp::position_pda(&market_key, owner))
            .await
            .filter(|p| p.size != 0);
        let oracle = self
            .ctx
            .banks_client
            .get_account(market.oracle)
            .await
            .unwrap()
            .map(|a| keel::transport::RawAccount {
                owner: a.owner,
                lamports: a.lamports,
                data: a.data,
            })
            .expect("oracle account");
        let model = if pool.risk.model == Pubkey::default() {
            None
        } else {
            let data = self.account_data(&pool.risk.model).await.unwrap();
            Some(*decode::risk_model(&data).unwrap())
        };
        let calendar = if pool.calendar == Pubkey::default() {
            None
        } else {
            let data = self.account_data(&pool.calendar).await.unwrap();
            Some(decode::calendar(&data).unwrap())
        };
        keel::client::quote::TradeView {
            pool_key: *pool_key,
            pool,
            market,
            position,
            oracle,
            model,
            calendar,
        }
    }

    pub async fn crp_pool(&mut self, pool: &Pubkey) -> collateral_pool::state::CrpPool {
        let data = self.account_data(pool).await.expect("pool account");
        assert_eq!(&data[..8], collateral_pool::state::CrpPool::DISCRIMINATOR);
        bytemuck::pod_read_unaligned(
            &data[8..8 + core::mem::size_of::<collateral_pool::state::CrpPool>()],
        )
    }

    pub async fn lp_supply(&mut self, lp_mint: &Pubkey) -> u64 {
        let data = self.account_data(lp_mint).await.unwrap();
        spl_token::state::Mint::unpack(&data).unwrap().supply
    }

    /// Write an account directly into the bank (fake or third-party accounts, e.g. Pyth updates).
    pub fn set_account(&mut self, key: &Pubkey, owner: &Pubkey, data: Vec<u8>) {
        keel::transport::set_account_in(&mut self.ctx, key, owner, data);
    }

    /// `owner` moves everything in his token account `account` to `into` and closes it (an
    /// owner walking away from the account a request pays into).
    pub async fn empty_and_close(&mut self, owner: &User, account: &Pubkey, into: &Pubkey) {
        use anchor_spl::token::spl_token::instruction::{close_account, transfer};
        let balance = self.balance(account).await;
        let id = spl_token::ID;
        let (o, k) = (owner.key(), owner.kp.insecure_clone());
        let move_all = transfer(&id, account, into, &o, &[], balance).unwrap();
        let close = close_account(&id, account, &o, &o, &[]).unwrap();
        self.send(&[move_all, close], &[&k]).await.unwrap();
    }

    /// An account's lamports (0 when it does not exist).
    pub async fn lamports(&mut self, key: &Pubkey) -> u64 {
        self.ctx
            .banks_client
            .get_account(*key)
            .await
            .unwrap()
            .map_or(0, |a| a.lamports)
    }

    /// Raw state (lamports and data) of `keys`, to assert that a failed instruction changed
    /// nothing.
    pub async fn snapshot(&mut self, keys: &[Pubkey]) -> Vec<Option<(u64, Vec<u8>)>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(
                self.ctx
                    .banks_client
                    .get_account(*k)
                    .await
                    .unwrap()
                    .map(|a| (a.lamports, a.data)),
            );
        }
        out
    }

    /// [`TestContext::snapshot`] for a request the program refused: a refusal closes the
    /// request and refunds it, and records the print it used in the pool (each market's
    /// `last_price_ts`, masked here); every other byte and every token balance must be as
    /// before. Lamports are left out: the owner paid the keeper its fee.
    pub async fn snapshot_refused(&mut self, keys: &[Pubkey]) -> Vec<Option<Vec<u8>>> {
        let raw = self.snapshot(keys).await;
        raw.into_iter()
            .map(|a| {
                a.map(|(_, mut data)| {
                    if data.len() >= 8 + core::mem::size_of::<Pool>()
                        && &data[..8] == Pool::DISCRIMINATOR
                    {
                        let end = 8 + core::mem::size_of::<Pool>();
                        let mut pool: Pool = bytemuck::pod_read_unaligned(&data[8..end]);
                        for m in pool.markets.iter_mut() {
                            m.last_price_ts = 0;
                        }
                        data[8..end].copy_from_slice(bytemuck::bytes_of(&pool));
                    }
                    data
                })
            })
            .collect()
    }

    /// The vault holds exactly LP capital + default fund + traders' collateral + the escrow of
    /// pending requests + the markets' premium balances.
    pub async fn assert_vault_balanced(&mut self, pool_key: &Pubkey) {
        let pool = self.pool(pool_key).await;
        let vault = self.balance(&pool.vault).await;
        assert_eq!(
            vault as u128,
            pool.lp_capital as u128
                + pool.default_fund as u128
                + pool.total_collateral as u128
                + pool.request_escrow as u128
                + pool.premium_total(),
            "vault {vault} != lp {} + df {} + collateral {} + escrow {} + premiums {}",
            pool.lp_capital,
            pool.default_fund,
            pool.total_collateral,
            pool.request_escrow,
            pool.premium_total()
        );
    }

    /// Money is conserved: the vault is balanced, the collateral total equals the sum over
    /// `positions` (every open position of the pool), each market side's collateral the sum
    /// over its open positions, and each market's premium balance the sum of its positions'
    /// refundable premiums.
    pub async fn assert_conservation(&mut self, pool_key: &Pubkey, positions: &[Pubkey]) {
        self.assert_vault_balanced(pool_key).await;
        let pool = self.pool(pool_key).await;
        let mut sum = 0u64;
        let mut premiums = [0u64; perp_amm::constants::MAX_MARKETS];
        let mut sides = [[0u64; 2]; perp_amm::constants::MAX_MARKETS];
        for p in positions {
            if let Some(pos) = self.position(p).await {
                sum += pos.collateral;
                let slot = pool.markets.iter().position(|m| m.market == pos.market);
                let slot = slot.expect("the position's market is in the pool");
                premiums[slot] += pos.premium_paid;
                if pos.size != 0 {
                    sides[slot][(pos.size < 0) as usize] += pos.collateral;
                }
            }
        }
        assert_eq!(
            sides, pool.side_collateral,
            "Σ open positions' collateral per market side != the pool's side collateral"
        );
        assert_eq!(
            sum, pool.total_collateral,
            "Σ position collateral != pool total"
        );
        assert_eq!(
            premiums, pool.premium_balances,
            "Σ position premiums != the markets' premium balances"
        );
    }
}
