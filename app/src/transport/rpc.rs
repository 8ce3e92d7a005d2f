//! The transport to a cluster: JSON-RPC through `solana-rpc-client`, the URL and keypair from
//! the flags or, like the Solana CLI, from `~/.config/solana/cli/config.yml`.
//!
//! The commands it carries are tested through the embedded transport, which implements the same
//! trait, and over JSON-RPC against the local node by `tests/e2e/run.sh` (every command that
//! reaches a cluster, and `app/tests/rpc_node.rs`'s resend of an expired blockhash).

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anyhow::Context;
use solana_instruction::{Instruction, error::InstructionError};
use solana_keypair::{Keypair, read_keypair_file};
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;

use super::{RawAccount, Transport, TxError};

pub struct Rpc {
    client: RpcClient,
    payer: Keypair,
}

/// The cluster flags of every command that reaches one (status, quote, oracle push, lp, trade,
/// crp, risk publish, migrate, keeper run). Global below the command that flattens them, so
/// they may follow its subcommand (`keel lp deposit --url …`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Cluster RPC URL (default: the Solana CLI's config, then http://127.0.0.1:8899)
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Signer keypair file (default: the Solana CLI's config, then ~/.config/solana/id.json)
    #[arg(long, global = true)]
    pub keypair: Option<PathBuf>,
}

/// Connect to the cluster `cluster` names: the transport, and an owned copy of its signer (the
/// fee payer), which the commands that send take beside the transport.
pub fn connect(cluster: &ClusterArgs) -> anyhow::Result<(Rpc, Keypair)> {
    let rpc = Rpc::connect(cluster.url.as_deref(), cluster.keypair.as_deref())?;
    let signer = rpc.payer.insecure_clone();
    Ok((rpc, signer))
}

/// The Solana CLI's defaults: (`json_rpc_url`, `keypair_path`) from its config file.
pub fn solana_cli_defaults(config: &Path) -> (Option<String>, Option<PathBuf>) {
    let Ok(text) = std::fs::read_to_string(config) else {
        return (None, None);
    };
    let field = |name: &str| {
        text.lines().find_map(|l| {
            l.trim()
                .strip_prefix(name)
                .and_then(|r| r.trim_start().strip_prefix(':'))
                .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        })
    };
    (
        field("json_rpc_url"),
        field("keypair_path").map(PathBuf::from),
    )
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

impl Rpc {
    /// Connect with `url` and `keypair`, each defaulting to the Solana CLI's configuration and
    /// then to localhost and `~/.config/solana/id.json`.
    pub fn connect(url: Option<&str>, keypair: Option<&Path>) -> anyhow::Result<Self> {
        let (cli_url, cli_keypair) =
            solana_cli_defaults(&home().join(".config/solana/cli/config.yml"));
        let url = url
            .map(str::to_owned)
            .or(cli_url)
            .unwrap_or_else(|| "http://127.0.0.1:8899".into());
        let keypair = keypair
            .map(Path::to_path_buf)
            .or(cli_keypair)
            .unwrap_or_else(|| home().join(".config/solana/id.json"));
        let payer = read_keypair_file(&keypair)
            .map_err(|e| anyhow::anyhow!("reading the keypair {}: {e}", keypair.display()))?;
        let client = RpcClient::new_with_commitment(
            url.clone(),
            solana_commitment_config::CommitmentConfig::confirmed(),
        );
        // one cheap call first: a node that is down is said as such, not as the first
        // account lookup's failure
        client.get_version().map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the cluster at {url} ({e}): is a node running there \
                 (`bash localnet/run.sh` starts one)?"
            )
        })?;
        Ok(Rpc { client, payer })
    }
}

/// The largest serialized transaction a node takes (`PACKET_DATA_SIZE`).
pub const MAX_TRANSACTION_BYTES: usize = 1_232;
/// The most compute units a transaction may ask for.
const MAX_COMPUTE_UNITS: u32 = 1_400_000;
/// Sends of one transaction when its blockhash expires before confirmation.
const SEND_ATTEMPTS: u32 = 3;

/// The serialized size of a transaction of `ixs` paid by `payer`: the signatures' count, the
/// signatures, and the message.
pub fn transaction_size(ixs: &[Instruction], payer: &Pubkey) -> usize {
    let tx = Transaction::new_with_payer(ixs, Some(payer));
    let sigs = tx.signatures.len();
    // a short-vec length: one byte under 128
    let prefix = if sigs < 128 { 1 } else { 2 };
    prefix + 64 * sigs + tx.message_data().len()
}

/// A transaction error as the app reports it: a program's custom code, or the error's text.
fn refusal(e: TransactionError, text: String) -> TxError {
    match e {
        TransactionError::InstructionError(_, InstructionError::Custom(c)) => TxError::Custom(c),
        _ => TxError::Other(text),
    }
}

/// A transaction the node confirmed: its signature and the sends it took.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub signature: Signature,
    pub sends: u32,
}

impl Rpc {
    /// The priority fee to pay (micro-lamports per compute unit): the 75th percentile of the
    /// node's recent fees on the accounts the instructions write, 0 if it has none or cannot
    /// say.
    fn priority_fee(&self, ixs: &[Instruction]) -> u64 {
        let mut writable: Vec<Pubkey> = ixs
            .iter()
            .flat_map(|i| {
                i.accounts
                    .iter()
                    .filter(|m| m.is_writable)
                    .map(|m| m.pubkey)
            })
            .collect();
        writable.sort();
        writable.dedup();
        writable.truncate(128);
        let Ok(fees) = self.client.get_recent_prioritization_fees(&writable) else {
            return 0;
        };
        let mut fees: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
        if fees.is_empty() {
            return 0;
        }
        fees.sort_unstable();
        fees[(fees.len() * 3 / 4).min(fees.len() - 1)]
    }

    /// Send and confirm (at the client's `confirmed` commitment), as a real cluster needs:
    /// the size checked against the packet limit before anything is sent; a priority fee from
    /// the node's recent fees on the accounts written (none on a quiet cluster); a compute-unit
    /// limit from a simulation with a fifth more (the bench's figures are what a simulation
    /// finds; a refused simulation keeps the default and lets the send report the program's
    /// error); and a fresh blockhash and a resend, after a growing pause, when the blockhash
    /// expired before confirmation.
    ///
    /// A send that was not confirmed is resent only when it cannot land any more: the node
    /// refused its blockhash, or the confirmed chain is past the blockhash's last valid block
    /// height and the node has no status for it even searching history. A send whose fate is
    /// unsure is `TxError::Unconfirmed`, never sent twice.
    ///
    /// `first`, when given, is the blockhash the first send is signed over instead of the
    /// node's latest (the end-to-end test's expired one).
    pub fn send_counting(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        first: Option<Hash>,
    ) -> Result<Sent, TxError> {
        let payer = self.payer.pubkey();
        let mut all: Vec<&Keypair> = vec![&self.payer];
        all.extend(signers.iter().filter(|k| k.pubkey() != payer));
        let has = |kind: u8| {
            ixs.iter()
                .any(|i| i.program_id == super::COMPUTE_BUDGET_ID && i.data.first() == Some(&kind))
        };
        let (set_limit, set_price) = (!has(2), !has(3));
        let with_budget = |units: u32, price: u64| -> Vec<Instruction> {
            let mut out = Vec::with_capacity(ixs.len() + 2);
            if set_limit {
                out.push(super::compute_unit_limit(units));
            }
            if set_price && price > 0 {
                out.push(super::compute_unit_price(price));
            }
            out.extend_from_slice(ixs);
            out
        };
        let size = transaction_size(&with_budget(MAX_COMPUTE_UNITS, 1), &payer);
        if size > MAX_TRANSACTION_BYTES {
            return Err(TxError::Other(format!(
                "a transaction of {size} bytes, over the {MAX_TRANSACTION_BYTES}-byte packet: \
                 split it"
            )));
        }
        let price = if set_price { self.priority_fee(ixs) } else { 0 };
        let other = |e: solana_rpc_client_api::client_error::Error| TxError::Other(e.to_string());
        let mut first = first;
        for attempt in 0..SEND_ATTEMPTS {
            // the blockhash and the last block height at which a transaction signed over it can
            // land (unknown for a given one: only the node's refusal says it is gone)
            let confirmed = self.client.commitment();
            let (blockhash, last_valid) = match first.take() {
                Some(given) => (given, None),
                None => {
                    let (hash, last) = self
                        .client
                        .get_latest_blockhash_with_commitment(confirmed)
                        .map_err(other)?;
                    (hash, Some(last))
                }
            };
            let sign = |units: u32| {
                Transaction::new_signed_with_payer(
                    &with_budget(units, price),
                    Some(&payer),
                    &all,
                    blockhash,
                )
            };
            let units = match self.client.simulate_transaction(&sign(MAX_COMPUTE_UNITS)) {
                Ok(r) if r.value.err.is_none() => {
                    r.value.units_consumed.map_or(MAX_COMPUTE_UNITS, |used| {
                        let margin = (used / 5).max(10_000);
                        (used + margin).min(MAX_COMPUTE_UNITS as u64) as u32
                    })
                }
                _ => MAX_COMPUTE_UNITS,
            };
            let tx = sign(units);
            let signature = tx.signatures[0];
            let sent = Sent {
                signature,
                sends: attempt + 1,
            };
            let e = match self.client.send_and_confirm_transaction(&tx) {
                Ok(_) => return Ok(sent),
                Err(e) => e,
            };
            let unconfirmed = |why: &str| {
                TxError::Unconfirmed(format!(
                    "{e} (transaction {signature} not confirmed, {why}: not resent while it may \
                     still land)"
                ))
            };
            match e.get_transaction_error() {
                // the node did not take the blockhash (at preflight, or, on surfpool, when it
                // executed): the transaction never ran
                Some(TransactionError::BlockhashNotFound) => {}
                // a program's refusal, in preflight or in a block
                Some(te) => return Err(refusal(te, e.to_string())),
                // not confirmed in time: it may have landed, or expired. First that it can no
                // longer land (the confirmed chain is past its last valid height), then that it
                // did not (no status even searching history); anything unsure is reported
                None => {
                    let Some(last_valid) = last_valid else {
                        return Err(unconfirmed("its blockhash's life unknown"));
                    };
                    match self.client.get_block_height_with_commitment(confirmed) {
                        Ok(height) if height > last_valid => {}
                        Ok(_) => return Err(unconfirmed("its blockhash still valid")),
                        Err(_) => return Err(unconfirmed("the block height unknown")),
                    }
                    match self
                        .client
                        .get_signature_status_with_commitment_and_history(
                            &signature, confirmed, true,
                        ) {
                        Ok(None) => {}
                        Ok(Some(Ok(()))) => return Ok(sent),
                        Ok(Some(Err(te))) => return Err(refusal(te, e.to_string())),
                        Err(_) => return Err(unconfirmed("its status unknown")),
                    }
                }
            }
            if attempt + 1 < SEND_ATTEMPTS {
                std::thread::sleep(std::time::Duration::from_millis(500 << attempt));
            }
        }
        Err(TxError::Other("the blockhash kept expiring".into()))
    }
}

impl Transport for Rpc {
    fn payer(&self) -> &Keypair {
        &self.payer
    }

    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), TxError> {
        self.send_counting(ixs, signers, None).map(|_| ())
    }

    /// The confirmed transaction's logs, read back with `getTransaction` (they carry a
    /// request's outcome in its return data). Logs that cannot be read are an error, though
    /// the transaction landed: a keeper must not count an outcome it did not see.
    fn send_logs(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<String>, TxError> {
        let sent = self.send_counting(ixs, signers, None)?;
        let config = solana_rpc_client_api::config::RpcTransactionConfig {
            commitment: Some(self.client.commitment()),
            max_supported_transaction_version: Some(0),
            ..Default::default()
        };
        let mut last = String::new();
        for attempt in 0..SEND_ATTEMPTS {
            match self
                .client
                .get_transaction_with_config(&sent.signature, config)
            {
                Ok(tx) => match tx.transaction.meta {
                    Some(meta) => {
                        let mut logs: Vec<String> =
                            Option::from(meta.log_messages).unwrap_or_default();
                        // the return data from the status itself, in the runtime's log
                        // format: logs past the node's byte limit are cut, the outcome with them
                        let r = meta.return_data.unwrap_or_else(Default::default);
                        if !r.program_id.is_empty() {
                            let line = format!("Program return: {} {}", r.program_id, r.data.0);
                            if !logs.contains(&line) {
                                logs.push(line);
                            }
                        }
                        return Ok(logs);
                    }
                    None => last = "the node kept no status".into(),
                },
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(std::time::Duration::from_millis(200 << attempt));
        }
        Err(TxError::Other(format!(
            "transaction {} landed, but its logs could not be read: {last}",
            sent.signature
        )))
    }

    fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<RawAccount>> {
        let a = self
            .client
            .get_account_with_commitment(key, self.client.commitment())
            .context("get_account")?
            .value;
        Ok(a.map(|a| RawAccount {
            owner: a.owner,
            lamports: a.lamports,
            data: a.data,
        }))
    }

    /// `getProgramAccounts` with the discriminator as a memcmp filter at offset 0, so the node
    /// returns only the accounts of that type (not a scan of every account of the program).
    fn program_accounts(
        &mut self,
        program: &Pubkey,
        discriminator: &[u8],
    ) -> anyhow::Result<Vec<(Pubkey, RawAccount)>> {
        use solana_account_decoder_client_types::UiAccountEncoding;
        use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                0,
                discriminator.to_vec(),
            ))]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.client.commitment()),
                ..Default::default()
            },
            ..Default::default()
        };
        let found = self
            .client
            .get_program_ui_accounts_with_config(program, config)
            .context("getProgramAccounts")?;
        let mut out = Vec::with_capacity(found.len());
        for (key, a) in found {
            let data = a.data.decode().context("an account's base64 data")?;
            // the node applied the filter; one that ignored it is caught here
            if !data.starts_with(discriminator) {
                continue;
            }
            let owner = a.owner.parse().context("an account's owner")?;
            out.push((
                key,
                RawAccount {
                    owner,
                    lamports: a.lamports,
                    data,
                },
            ));
        }
        Ok(out)
    }

    fn unix_time(&mut self) -> anyhow::Result<i64> {
        // the Clock sysvar: slot, epoch_start_timestamp, epoch, leader_schedule_epoch,
        // unix_timestamp (five 8-byte words)
        let clock = anchor_lang::pubkey!("SysvarC1ock11111111111111111111111111111111");
        let data = self.client.get_account_data(&clock).context("the clock")?;
        let bytes: [u8; 8] = data
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .context("a clock account")?;
        Ok(i64::from_le_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_solana_cli_config() {
        let dir = std::env::temp_dir().join(format!("keel-cli-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.yml");
        std::fs::write(
            &path,
            "---\njson_rpc_url: https://api.devnet.solana.com\nwebsocket_url: ''\n\
             keypair_path: /home/me/.config/solana/id.json\naddress_labels:\n  \"1111\": System\n",
        )
        .unwrap();
        let (url, keypair) = solana_cli_defaults(&path);
        assert_eq!(url.as_deref(), Some("https://api.devnet.solana.com"));
        assert_eq!(
            keypair,
            Some(PathBuf::from("/home/me/.config/solana/id.json"))
        );
        assert_eq!(solana_cli_defaults(&dir.join("missing.yml")), (None, None));
    }

    /// A transaction over the packet limit is refused before anything is sent (no node is
    /// asked: this one is down), and the size counted is the wire size.
    #[test]
    fn an_oversized_transaction_is_refused_before_it_is_sent() {
        let payer = Keypair::new();
        let program = Pubkey::new_unique();
        let ix = |len: usize| Instruction {
            program_id: program,
            accounts: vec![],
            data: vec![7; len],
        };
        let base = transaction_size(&[ix(0)], &payer.pubkey());
        assert_eq!(transaction_size(&[ix(100)], &payer.pubkey()), base + 100);
        let mut rpc = Rpc {
            client: RpcClient::new("http://127.0.0.1:1"),
            payer,
        };
        let r = rpc.send(&[ix(1_200)], &[]);
        match r {
            Err(TxError::Other(text)) => {
                assert!(text.contains("over the 1232-byte packet"), "{text}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// A node that is down is said as such, before any command runs (issue #21).
    #[test]
    fn a_node_that_is_down_is_said_plainly() {
        let dir = std::env::temp_dir().join(format!("keel-rpc-down-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("id.json");
        solana_keypair::write_keypair_file(&Keypair::new(), &path).unwrap();
        let e = Rpc::connect(Some("http://127.0.0.1:1"), Some(&path))
            .err()
            .expect("nothing listens on port 1");
        let text = e.to_string();
        assert!(
            text.starts_with("cannot reach the cluster at http://127.0.0.1:1"),
            "{text}"
        );
    }
}
