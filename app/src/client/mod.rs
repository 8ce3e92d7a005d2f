//! Client library: instruction builders, PDAs and presets shared by the CLI, the tests and the
//! compute-unit benchmark.

pub mod crp;
pub mod decode;
pub mod markets;
pub mod perp;
pub mod quote;

/// A failed transaction's error, with its name when `program` raised it: `"WrongMint (custom
/// program error 6003)"`, or the transport's text.
#[cfg(feature = "embedded")]
pub fn describe_error(
    program: &anchor_lang::prelude::Pubkey,
    e: &crate::transport::TxError,
) -> String {
    match e.code().and_then(|c| error_name(program, c)) {
        Some(n) => format!("{n} ({e})"),
        None => e.to_string(),
    }
}

/// `what` failed: "refused by the program: Name (…)" when the program named it.
#[cfg(feature = "embedded")]
pub fn failed(
    program: &anchor_lang::prelude::Pubkey,
    what: &str,
    e: &crate::transport::TxError,
) -> anyhow::Error {
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
pub fn error_name(program: &anchor_lang::prelude::Pubkey, code: u32) -> Option<String> {
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
