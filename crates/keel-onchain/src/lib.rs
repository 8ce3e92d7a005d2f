//! On-chain code the two Keel programs share (marginfi's type crate is the model): reading
//! oracles, comparing and reading account bytes word-wise, 128-bit values that keep 8-byte
//! alignment in zero-copy accounts, and token CPIs signed by a pool PDA.
//!
//! Nothing here is an Anchor program. Errors are this crate's own [`OnchainError`]; each program
//! maps it once onto its append-only error codes (`PerpError`, `CrpError`).
//!
//! Oracle reads go through [`AccountRead`] (key, owner, data), which `AccountInfo` implements on
//! chain and [`AccountView`] implements over plain bytes, so off-chain quotes run the same code
//! without building runtime types.

pub mod account;
pub mod bytes;
pub mod error;
pub mod ids;
pub mod oracle;
pub mod token;
pub mod wrapped;

pub use account::{AccountRead, AccountView};
pub use error::OnchainError;
pub use wrapped::WrappedI128;
