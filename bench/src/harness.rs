//! The litesvm harness: program loading, deterministic keys, the clock, sending and CU
//! capture, and the token, mint, oracle-price and account-reading helpers both scenarios use.

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use collateral_pool::state::CrpPool;
use keel::client::perp as ix;
use keel::client::token::{create_mint_ixs, create_token_account_ixs};
use perp_amm::instructions::PushPriceArgs;
use perp_amm::state::{Pool, Position};
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::table::Row;

pub const E6: u64 = 1_000_000;
pub const E9: u64 = 1_000_000_000;
const START: i64 = 1_767_225_600;

pub type Instruction = anchor_lang::solana_program::instruction::Instruction;

/// Deterministic keypairs: PDA bump searches cost ~1.5k CU per attempt, so random keys would
/// make every run's figures differ; fixed keys make the table reproducible.
pub fn key(n: &mut u8) -> Keypair {
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

/// One litesvm with perp-amm loaded, the bench's authorities and quote mint, the clock, and
/// the rows and failures recorded so far.
pub struct Bench {
    pub svm: litesvm::LiteSVM,
    pub payer: Keypair,
    pub admin: Keypair,
    pub oracle_auth: Keypair,
    pub mint_auth: Keypair,
    pub mint: Pubkey,
    pub now: i64,
    pub rows: Vec<Row>,
    pub failures: Vec<String>,
    pub keys: u8,
}

impl Bench {
    pub fn new(so: &[u8]) -> Self {
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

    pub fn set_time(&mut self, ts: i64) {
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
    pub fn measure(
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

    /// Send a set-up transaction (not measured); a failure is recorded.
    pub fn must(&mut self, what: &str, ixs: &[Instruction], signers: &[&Keypair]) {
        if let Err(e) = self.send(ixs, signers) {
            self.failures.push(format!("setup {what}: {e}"));
        }
    }

    /// The next deterministic keypair.
    pub fn next_key(&mut self) -> Keypair {
        key(&mut self.keys)
    }

    /// A new SPL mint with `decimals`, the bench's mint authority.
    pub fn create_mint(&mut self, decimals: u8) -> Pubkey {
        let mint = self.next_key();
        let rent = self
            .svm
            .minimum_balance_for_rent_exemption(spl_token::state::Mint::LEN);
        let ixs = create_mint_ixs(
            &self.payer.pubkey(),
            &mint.pubkey(),
            &self.mint_auth.pubkey(),
            decimals,
            rent,
        );
        self.must("create mint", &ixs, &[&mint]);
        mint.pubkey()
    }

    /// A new token account of `mint` owned by `owner`.
    pub fn token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let acct = self.next_key();
        let rent = self
            .svm
            .minimum_balance_for_rent_exemption(spl_token::state::Account::LEN);
        let ixs = create_token_account_ixs(&self.payer.pubkey(), &acct.pubkey(), mint, owner, rent);
        self.must("create token account", &ixs, &[&acct]);
        acct.pubkey()
    }

    /// A funded keypair and its quote-token account holding `quote`.
    pub fn user(&mut self, quote: u64) -> (Keypair, Pubkey) {
        let kp = self.next_key();
        self.svm.airdrop(&kp.pubkey(), 10 * E9).expect("airdrop");
        let mint = self.mint;
        let acct = self.token_account(&mint, &kp.pubkey());
        self.mint_to(&mint, &acct, quote);
        (kp, acct)
    }

    /// A token account's amount.
    pub fn balance(&self, acct: &Pubkey) -> u64 {
        let a = self.svm.get_account(acct).expect("token account");
        spl_token::state::Account::unpack(&a.data).unwrap().amount
    }

    /// A perp pool's state.
    pub fn pool(&self, key: &Pubkey) -> Pool {
        let a = self.svm.get_account(key).expect("pool");
        assert_eq!(&a.data[..8], Pool::DISCRIMINATOR);
        bytemuck::pod_read_unaligned(&a.data[8..8 + core::mem::size_of::<Pool>()])
    }

    /// A perp position's state, if the account exists.
    pub fn position(&self, key: &Pubkey) -> Option<Position> {
        let a = self.svm.get_account(key)?;
        Position::try_deserialize(&mut &a.data[..]).ok()
    }

    /// A collateral pool's state.
    pub fn crp_pool(&self, key: &Pubkey) -> CrpPool {
        let a = self.svm.get_account(key).expect("crp pool");
        bytemuck::pod_read_unaligned(&a.data[8..8 + core::mem::size_of::<CrpPool>()])
    }

    /// Mint `amount` of `mint` to `to`.
    pub fn mint_to(&mut self, mint: &Pubkey, to: &Pubkey, amount: u64) {
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

    /// `update_push_oracle` for `oracle` at `price`, stamped with the bench clock.
    pub fn push_price(&mut self, pool: &Pubkey, oracle: &Pubkey, price: f64) -> Instruction {
        let args = PushPriceArgs {
            price: (price * 1e6) as i64,
            conf: 0,
            publish_time: self.now,
        };
        ix::update_push_oracle(&self.oracle_auth.pubkey(), pool, oracle, args)
    }
}
