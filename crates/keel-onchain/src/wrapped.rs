//! 128-bit values in zero-copy accounts.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize};
use bytemuck::{Pod, Zeroable};
use keel_math::Fix;

/// An i128 stored as two u64 words: 8-byte aligned on every target, so it is safe inside
/// zero-copy accounts (raw i128 is 16-aligned on the host and 8 on SBF).
#[derive(
    Clone, Copy, Default, Debug, PartialEq, Eq, Pod, Zeroable, AnchorSerialize, AnchorDeserialize,
)]
#[repr(C)]
pub struct WrappedI128(pub [u64; 2]);

impl anchor_lang::Space for WrappedI128 {
    const INIT_SPACE: usize = 16;
}

impl WrappedI128 {
    pub fn get(&self) -> i128 {
        ((self.0[1] as u128) << 64 | self.0[0] as u128) as i128
    }
    pub fn set(&mut self, v: i128) {
        let u = v as u128;
        self.0 = [u as u64, (u >> 64) as u64];
    }
    pub fn fix(&self) -> Fix {
        Fix::from_bits(self.get())
    }
    pub fn set_fix(&mut self, v: Fix) {
        self.set(v.to_bits());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_round_trip() {
        let mut w = WrappedI128::default();
        for v in [0i128, 1, -1, i128::MAX, i128::MIN, 12345 << 70] {
            w.set(v);
            assert_eq!(w.get(), v);
        }
        assert_eq!(core::mem::align_of::<WrappedI128>(), 8);
    }
}
