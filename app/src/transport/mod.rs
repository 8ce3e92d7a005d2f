//! How the app reaches a chain: one [`Transport`] trait with two implementations, the embedded
//! runtime (`embedded`: both programs in this process, no validator; the tests and the sandbox
//! boot it) and JSON-RPC to a cluster (`rpc`). The bottom layer of the app: it imports nothing
//! else of the crate.
//!
//! [`RawAccount`] and [`TxError`] compile without the `embedded` feature (the client's quotes
//! read `RawAccount`s; the SBF bench builds the client alone).

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "embedded")]
pub mod rpc;

use anchor_lang::prelude::Pubkey;

/// The compute-budget program (a builtin of every bank).
pub const COMPUTE_BUDGET_ID: Pubkey =
    anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");

/// The compute-budget program's `SetComputeUnitLimit`.
pub fn compute_unit_limit(units: u32) -> solana_instruction::Instruction {
    compute_budget(2, &units.to_le_bytes())
}

/// The compute-budget program's `SetComputeUnitPrice` (micro-lamports per compute unit).
pub fn compute_unit_price(micro_lamports: u64) -> solana_instruction::Instruction {
    compute_budget(3, &micro_lamports.to_le_bytes())
}

fn compute_budget(kind: u8, value: &[u8]) -> solana_instruction::Instruction {
    let mut data = vec![kind];
    data.extend_from_slice(value);
    solana_instruction::Instruction {
        program_id: COMPUTE_BUDGET_ID,
        accounts: vec![],
        data,
    }
}
#[cfg(feature = "embedded")]
use solana_instruction::Instruction;
#[cfg(feature = "embedded")]
use solana_keypair::Keypair;

#[cfg(feature = "embedded")]
pub use embedded::{Embedded, program_test, send_in_context, send_in_context_logs, set_account_in};
#[cfg(feature = "embedded")]
pub use rpc::{ClusterArgs, Rpc, connect};

/// An account as the chain holds it.
#[derive(Clone, Debug)]
pub struct RawAccount {
    pub owner: Pubkey,
    pub lamports: u64,
    pub data: Vec<u8>,
}

/// Why a transaction failed: the custom code (Anchor's or a program's) when it had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    Custom(u32),
    Other(String),
    /// Sent but not confirmed, and it may still land: sending it again could run it twice.
    Unconfirmed(String),
}

impl TxError {
    pub fn code(&self) -> Option<u32> {
        match self {
            TxError::Custom(c) => Some(*c),
            TxError::Other(_) | TxError::Unconfirmed(_) => None,
        }
    }
}

impl std::fmt::Display for TxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxError::Custom(c) => write!(f, "custom program error {c}"),
            TxError::Other(s) | TxError::Unconfirmed(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for TxError {}

/// A chain the app can send transactions to and read accounts from.
#[cfg(feature = "embedded")]
pub trait Transport {
    /// The fee payer of every transaction.
    fn payer(&self) -> &Keypair;
    /// Send `ixs` in one transaction signed by the payer and `signers`.
    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), TxError>;
    /// [`Transport::send`], returning the transaction's log messages (the embedded bank keeps
    /// them; over RPC they are read back with `getTransaction`).
    fn send_logs(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<String>, TxError> {
        self.send(ixs, signers).map(|()| Vec::new())
    }
    /// An account (owner, lamports, data), `None` if it does not exist.
    fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<RawAccount>>;
    /// An account's data, `None` if it does not exist.
    fn account_data(&mut self, key: &Pubkey) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.account(key)?.map(|a| a.data))
    }
    /// The cluster's clock.
    fn unix_time(&mut self) -> anyhow::Result<i64>;
    /// Every account `program` owns whose data starts with `discriminator` (keepers find the
    /// positions they watch this way).
    fn program_accounts(
        &mut self,
        program: &Pubkey,
        discriminator: &[u8],
    ) -> anyhow::Result<Vec<(Pubkey, RawAccount)>>;
}

/// Send, retrying transport failures up to `retries` attempts in all; program errors, and a
/// send that may still land, return at once (the keeper's rounds send this way).
#[cfg(feature = "embedded")]
pub fn send_retrying(
    t: &mut dyn Transport,
    ixs: &[Instruction],
    signers: &[&Keypair],
    retries: u32,
) -> Result<(), TxError> {
    let mut attempt = 0;
    loop {
        match t.send(ixs, signers) {
            Err(TxError::Other(_)) if attempt + 1 < retries.max(1) => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(200 << attempt));
            }
            r => return r,
        }
    }
}
