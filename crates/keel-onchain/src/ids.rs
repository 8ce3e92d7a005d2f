//! Program ids the shared code checks account owners against.

use anchor_lang::prelude::Pubkey;

/// The perp AMM program: owner of every push oracle (the collateral pool reads them too).
/// `perp_amm` asserts at compile time that its `declare_id!` equals this.
pub const PERP_AMM: Pubkey = anchor_lang::pubkey!("Bp9uMgxgYB2v1aqAQYSMcJ7QZrvZ5upSqr8wX66SWMgB");

/// The Pyth Solana Receiver program, owner of every `PriceUpdateV2` account.
pub const PYTH_RECEIVER: Pubkey =
    anchor_lang::pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// `a == b` at compile time (for the id assertions above).
pub const fn same_key(a: &Pubkey, b: &Pubkey) -> bool {
    let (a, b) = (a.to_bytes(), b.to_bytes());
    let mut i = 0;
    while i < 32 {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
