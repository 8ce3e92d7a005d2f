//! The embedded runtime: a [`Transport`] that runs both programs with no validator
//! (solana-program-test's bank, the programs natively, the real SPL Token program). The tests
//! and the sandbox boot it; the RPC transport to a cluster (`super::rpc`) is the other
//! implementation.

use anchor_lang::prelude::{AccountInfo, Clock, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use solana_instruction::{Instruction, error::InstructionError};
use solana_keypair::Keypair;
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use super::{RawAccount, Transport, TxError};

/// `processor!` takes `fn(&Pubkey, &[AccountInfo], &[u8])` with independent lifetimes; Anchor
/// 1.x's `entry` ties them to one `'info`. Re-borrowing the slice with that lifetime is sound:
/// nothing outlives this synchronous call (shared/docs/toolchain.md).
fn perp_amm_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // SAFETY: see above
    let accounts: &[AccountInfo] = unsafe { core::mem::transmute(accounts) };
    perp_amm::entry(program_id, accounts, data)
}

fn collateral_pool_entry(
    program_id: &Pubkey,
    accounts: &[AccountInfo],
    data: &[u8],
) -> ProgramResult {
    // SAFETY: as for `perp_amm_entry`
    let accounts: &[AccountInfo] = unsafe { core::mem::transmute(accounts) };
    collateral_pool::entry(program_id, accounts, data)
}

/// A bank with both programs loaded natively (the tests and the embedded transport share it).
pub fn program_test() -> ProgramTest {
    let mut pt = ProgramTest::default();
    // `default` installs a logger that prints every instruction at DEBUG; replace it before
    // anything logs, so output stays readable unless RUST_LOG asks for more
    agave_logger::setup_with_default("error");
    pt.add_program("perp_amm", perp_amm::ID, processor!(perp_amm_entry));
    pt.add_program(
        "collateral_pool",
        collateral_pool::ID,
        processor!(collateral_pool_entry),
    );
    pt.prefer_bpf(false);
    pt
}

/// Send through a program-test context. Every transaction gets a distinct compute-unit price
/// (`nonce`), so identical instructions sent twice are distinct transactions without waiting for
/// a new blockhash.
pub async fn send_in_context(
    ctx: &mut ProgramTestContext,
    nonce: u64,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), TxError> {
    send_in_context_logs(ctx, nonce, ixs, signers)
        .await
        .map(|_| ())
}

/// [`send_in_context`], returning the transaction's log messages (events are read from them).
pub async fn send_in_context_logs(
    ctx: &mut ProgramTestContext,
    nonce: u64,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<Vec<String>, TxError> {
    // a unit price of `nonce` micro-lamports makes every transaction distinct
    let mut all_ixs = Vec::with_capacity(ixs.len() + 1);
    all_ixs.push(super::compute_unit_price(nonce));
    all_ixs.extend_from_slice(ixs);
    let payer = ctx.payer.insecure_clone();
    let mut all: Vec<&Keypair> = vec![&payer];
    all.extend_from_slice(signers);
    let other = |e: BanksClientError| TxError::Other(e.to_string());
    // the bank keeps producing slots: take its latest blockhash now and then, and once more if
    // ours has expired
    if nonce % 64 == 1 {
        ctx.last_blockhash = ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .map_err(other)?;
    }
    for attempt in 0..2 {
        let tx = Transaction::new_signed_with_payer(
            &all_ixs,
            Some(&payer.pubkey()),
            &all,
            ctx.last_blockhash,
        );
        let result = ctx
            .banks_client
            .process_transaction_with_metadata(tx)
            .await
            .and_then(|r| {
                r.result
                    .map(|()| {
                        r.metadata
                            .map(|m| {
                                let ret = m.return_data.map(|d| (d.program_id, d.data));
                                logs_with_return(m.log_messages, ret)
                            })
                            .unwrap_or_default()
                    })
                    .map_err(Into::into)
            });
        return match result {
            Ok(logs) => Ok(logs),
            Err(BanksClientError::TransactionError(TransactionError::BlockhashNotFound))
                if attempt == 0 =>
            {
                ctx.last_blockhash = ctx
                    .banks_client
                    .get_latest_blockhash()
                    .await
                    .map_err(other)?;
                continue;
            }
            Err(BanksClientError::TransactionError(TransactionError::InstructionError(
                _,
                InstructionError::Custom(c),
            )))
            | Err(BanksClientError::SimulationError {
                err: TransactionError::InstructionError(_, InstructionError::Custom(c)),
                ..
            }) => Err(TxError::Custom(c)),
            Err(e) => Err(TxError::Other(format!("{e:?}"))),
        };
    }
    Err(TxError::Other("blockhash expired twice".into()))
}

/// The transaction's logs, with its return data as a validator logs it (`Program return: <program>
/// <base64>`): natively run programs leave that line out.
fn logs_with_return(mut logs: Vec<String>, ret: Option<(Pubkey, Vec<u8>)>) -> Vec<String> {
    use base64::Engine;
    if let Some((program, data)) = ret
        && !logs.iter().any(|l| l.starts_with("Program return: "))
    {
        let data = base64::engine::general_purpose::STANDARD.encode(&data);
        logs.push(format!("Program return: {program} {data}"));
    }
    logs
}

/// Write an account straight into a bank, rent-exempt: a third-party program's account (a Pyth
/// price update) that a test or a sandbox needs and cannot create by transaction.
pub fn set_account_in(ctx: &mut ProgramTestContext, key: &Pubkey, owner: &Pubkey, data: Vec<u8>) {
    let account = solana_account::Account {
        lamports: anchor_lang::prelude::Rent::default().minimum_balance(data.len()),
        data,
        owner: *owner,
        executable: false,
        rent_epoch: 0,
    };
    ctx.set_account(key, &solana_account::AccountSharedData::from(account));
}

/// The embedded runtime as a [`Transport`]: a bank in this process, driven synchronously.
pub struct Embedded {
    rt: tokio::runtime::Runtime,
    pub ctx: ProgramTestContext,
    nonce: u64,
    /// Every account a sent instruction named: the bank cannot be scanned, and every account
    /// created in it was named by the transaction that created it.
    seen: std::collections::BTreeSet<Pubkey>,
}

impl Embedded {
    /// Boot a bank with both programs, the clock at `unix_time`.
    pub fn start(unix_time: i64) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let ctx = rt.block_on(program_test().start_with_context());
        let mut e = Embedded {
            rt,
            ctx,
            nonce: 0,
            seen: Default::default(),
        };
        e.set_time(unix_time);
        Ok(e)
    }

    /// Set the bank clock (the sandbox replays history day by day).
    pub fn set_time(&mut self, unix_time: i64) {
        let clock = Clock {
            unix_timestamp: unix_time,
            slot: 1 + self.nonce,
            ..Default::default()
        };
        self.ctx.set_sysvar(&clock);
    }

    /// Transactions sent so far.
    pub fn transactions(&self) -> u64 {
        self.nonce
    }

    /// Write an account straight into the bank: a third-party program's account (a Pyth price
    /// update) that a test or a sandbox needs and cannot create by transaction.
    pub fn set_account(&mut self, key: &Pubkey, owner: &Pubkey, data: Vec<u8>) {
        set_account_in(&mut self.ctx, key, owner, data);
        self.seen.insert(*key);
    }

    /// Give `to` lamports from the payer.
    pub fn airdrop(&mut self, to: &Pubkey, lamports: u64) -> Result<(), TxError> {
        let ix = anchor_lang::solana_program::system_instruction::transfer(
            &self.ctx.payer.pubkey(),
            to,
            lamports,
        );
        self.send(&[ix], &[])
    }
}

impl Transport for Embedded {
    fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), TxError> {
        self.send_logs(ixs, signers).map(|_| ())
    }

    fn send_logs(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<String>, TxError> {
        self.seen.extend(
            ixs.iter()
                .flat_map(|ix| ix.accounts.iter().map(|m| m.pubkey)),
        );
        self.nonce += 1;
        let nonce = self.nonce;
        self.rt
            .block_on(send_in_context_logs(&mut self.ctx, nonce, ixs, signers))
    }

    fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<RawAccount>> {
        let account = self.rt.block_on(self.ctx.banks_client.get_account(*key))?;
        Ok(account.map(|a| RawAccount {
            owner: a.owner,
            lamports: a.lamports,
            data: a.data,
        }))
    }

    fn unix_time(&mut self) -> anyhow::Result<i64> {
        let clock: Clock = self.rt.block_on(self.ctx.banks_client.get_sysvar())?;
        Ok(clock.unix_timestamp)
    }

    fn program_accounts(
        &mut self,
        program: &Pubkey,
        discriminator: &[u8],
    ) -> anyhow::Result<Vec<(Pubkey, RawAccount)>> {
        let mut out = vec![];
        for key in self.seen.clone() {
            if let Some(a) = self.account(&key)?
                && a.owner == *program
                && a.data.starts_with(discriminator)
            {
                out.push((key, a));
            }
        }
        Ok(out)
    }
}
