//! A migration's state as its steps run: the cluster, the operator, the clock, and the
//! [`Step`]s and transactions so far; how a step sends, records itself and finds or creates a
//! mint.

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anyhow::{Context, bail, ensure};
use serde::Serialize;
use solana_keypair::{Keypair, read_keypair_file, write_keypair_file};
use solana_signer::Signer;

use super::config::key;
use crate::client::errors::failed;
use crate::client::token::{create_mint_ixs, mint_rent};
use crate::transport::Transport;

/// One step of a migration.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub what: String,
    pub address: String,
    /// `created`, `exists`, `published`, `up to date` or why it was skipped.
    pub outcome: String,
}

/// A migration under way: the cluster, the operator, where the configuration file lives, the
/// cluster's clock at the start, and the steps and transactions so far.
pub(super) struct Migration<'a> {
    pub(super) t: &'a mut dyn Transport,
    pub(super) operator: &'a Keypair,
    pub(super) dir: PathBuf,
    pub(super) now: i64,
    pub(super) steps: Vec<Step>,
    pub(super) transactions: usize,
}

impl Migration<'_> {
    /// Record a step's outcome.
    pub(super) fn step(
        &mut self,
        what: impl Into<String>,
        address: &Pubkey,
        outcome: impl Into<String>,
    ) {
        self.steps.push(Step {
            what: what.into(),
            address: address.to_string(),
            outcome: outcome.into(),
        });
    }

    /// Send `ixs` signed by the operator and `signers`, or fail with the program's error.
    pub(super) fn send(
        &mut self,
        program: &Pubkey,
        what: &str,
        ixs: &[solana_instruction::Instruction],
        signers: &[&Keypair],
    ) -> anyhow::Result<()> {
        let mut all = vec![self.operator];
        all.extend_from_slice(signers);
        self.t
            .send(ixs, &all)
            .map_err(|e| failed(program, what, &e))?;
        self.transactions += 1;
        Ok(())
    }

    /// A mint: the given one (checked), or a test token created from its keypair file.
    pub(super) fn mint(
        &mut self,
        what: &str,
        given: Option<&str>,
        keypair: Option<&str>,
        decimals: Option<u8>,
    ) -> anyhow::Result<Pubkey> {
        let (address, kp) = match (given, keypair) {
            (Some(m), _) => (key(m)?, None),
            (None, Some(file)) => {
                let kp = mint_keypair(&self.dir, file)?;
                (kp.pubkey(), Some(kp))
            }
            (None, None) => bail!("{what}: give its mint, or a keypair file for a test token"),
        };
        match self.t.account(&address)? {
            Some(a) => {
                ensure!(
                    a.owner == spl_token::ID,
                    "{what}: {address} is not an SPL Token account"
                );
                let mint = spl_token::state::Mint::unpack(&a.data)
                    .with_context(|| format!("{what}: {address} is not a mint"))?;
                if let Some(d) = decimals.filter(|_| kp.is_some()) {
                    ensure!(
                        mint.decimals == d,
                        "{what}: {address} has {} decimals, the configuration {d}",
                        mint.decimals
                    );
                }
                self.step(what, &address, "exists");
            }
            None => {
                let kp = kp.with_context(|| format!("{what}: no mint at {address}"))?;
                let operator = self.operator.pubkey();
                let ixs = create_mint_ixs(
                    &operator,
                    &address,
                    &operator,
                    decimals.unwrap_or(6),
                    mint_rent(),
                );
                self.send(&spl_token::ID, what, &ixs, &[&kp])?;
                self.step(what, &address, "created (test token, the operator mints)");
            }
        }
        Ok(address)
    }
}

/// A mint key kept in `file` (relative to `dir`): read it, or create and write it.
fn mint_keypair(dir: &Path, file: &str) -> anyhow::Result<Keypair> {
    let path = dir.join(file);
    if path.exists() {
        return read_keypair_file(&path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let kp = Keypair::new();
    write_keypair_file(&kp, &path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(kp)
}
