//! A program error's name, from the programs' IDLs: how every command reports a refusal.

use anchor_lang::prelude::Pubkey;

use crate::transport::TxError;

/// A failed transaction's error, with its name when `program` raised it: `"WrongMint (custom
/// program error 6003)"`, or the transport's text.
/// The custom error code a perp-amm error is returned as.
pub fn perp_code(e: perp_amm::errors::PerpError) -> u32 {
    anchor_lang::error::ERROR_CODE_OFFSET + e as u32
}

pub fn describe_error(program: &Pubkey, e: &TxError) -> String {
    match e.code().and_then(|c| error_name(program, c)) {
        Some(n) => format!("{n} ({e})"),
        None => e.to_string(),
    }
}

/// `what` failed: "refused by the program: Name (…)" when the program named it.
pub fn failed(program: &Pubkey, what: &str, e: &TxError) -> anyhow::Error {
    match e.code().and_then(|c| error_name(program, c)) {
        Some(_) => anyhow::anyhow!(
            "{what} refused by the program: {}",
            describe_error(program, e)
        ),
        None => anyhow::anyhow!("{what} failed: {e}"),
    }
}

/// A program error's name from the program's IDL (`idl/*.json`), e.g. 6020 of perp-amm is
/// `CapitalReserved`; Anchor's own codes (below 6000) are not listed.
pub fn error_name(program: &Pubkey, code: u32) -> Option<String> {
    let idl = if *program == perp_amm::ID {
        include_str!("../../../idl/perp_amm.json")
    } else if *program == collateral_pool::ID {
        include_str!("../../../idl/collateral_pool.json")
    } else {
        return None;
    };
    let v: serde_json::Value = serde_json::from_str(idl).ok()?;
    v["errors"]
        .as_array()?
        .iter()
        .find(|e| e["code"].as_u64() == Some(code as u64))
        .and_then(|e| e["name"].as_str().map(str::to_owned))
}
