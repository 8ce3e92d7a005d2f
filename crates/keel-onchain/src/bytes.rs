//! Word-wise compares and reads of account bytes.
//!
//! SBF has no unaligned loads, so the compiler lowers a `[u8; 32]` compare or a
//! `u64::from_le_bytes` of a slice to single-byte loads: ~180 CU per 32-byte compare, which an LP
//! action that reads 32 oracles pays several times per market. Account keys, owners, account data
//! and zero-copy fields sit 8-aligned in the program's input, so these helpers check alignment
//! at run time and use word loads, falling back to bytes when it does not hold.

use anchor_lang::prelude::Pubkey;

/// A value on an 8-byte boundary, so that [`keys_eq`] can compare a key copied to the stack (a
/// `Pubkey` local may sit at any address) word by word.
#[repr(C, align(8))]
pub struct Aligned<T>(pub T);

/// The first eight bytes of `bytes` as a little-endian word, at compile time (discriminators).
pub const fn le_word(bytes: &[u8]) -> u64 {
    let mut word = 0u64;
    let mut i = 0;
    while i < 8 {
        word |= (bytes[i] as u64) << (8 * i);
        i += 1;
    }
    word
}

/// `a == b`, eight bytes at a time when both are 8-aligned multiples of 8 bytes.
#[inline(always)]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    match (
        bytemuck::try_cast_slice::<u8, u64>(a),
        bytemuck::try_cast_slice::<u8, u64>(b),
    ) {
        (Ok(x), Ok(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p == q),
        _ => a == b,
    }
}

#[inline(always)]
pub fn keys_eq(a: &Pubkey, b: &Pubkey) -> bool {
    bytes_eq(a.as_ref(), b.as_ref())
}

/// `key` is all zeros (an unset key), eight bytes at a time when 8-aligned.
#[inline(always)]
pub fn key_is_unset(key: &Pubkey) -> bool {
    match bytemuck::try_cast_slice::<u8, u64>(key.as_ref()) {
        Ok(words) => words.iter().all(|w| *w == 0),
        Err(_) => key.as_ref().iter().all(|b| *b == 0),
    }
}

/// The little-endian `u32` at `data[at..at + 4]`, if in range.
#[inline(always)]
pub fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at + 4)?;
    Some(match bytemuck::try_from_bytes::<u32>(bytes) {
        Ok(word) => u32::from_le(*word),
        Err(_) => u32::from_le_bytes(bytes.try_into().ok()?),
    })
}

/// The little-endian `u64` at `data[at..at + 8]`, if in range: one load when 8-aligned, two
/// when 4-aligned (Borsh packs fields, so some sit on 4-byte boundaries).
#[inline(always)]
pub fn read_u64(data: &[u8], at: usize) -> Option<u64> {
    let bytes = data.get(at..at + 8)?;
    if let Ok(word) = bytemuck::try_from_bytes::<u64>(bytes) {
        return Some(u64::from_le(*word));
    }
    Some(read_u32(data, at)? as u64 | (read_u32(data, at + 4)? as u64) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_paths_match_byte_paths_at_every_alignment() {
        // an 8-aligned buffer, read at every offset: aligned, 4-aligned and unaligned paths
        let words: Vec<u64> = (0..8u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let data: &[u8] = bytemuck::cast_slice(&words);
        for at in 0..data.len() {
            let bytes = data.get(at..at + 8);
            assert_eq!(
                read_u64(data, at),
                bytes
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
            );
            let bytes = data.get(at..at + 4);
            assert_eq!(
                read_u32(data, at),
                bytes
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_le_bytes)
            );
        }
        for (i, j) in [(0, 0), (0, 8), (0, 1), (3, 3), (8, 16), (16, 16)] {
            let (a, b) = (&data[i..i + 32], &data[j..j + 32]);
            assert_eq!(bytes_eq(a, b), a == b, "{i} {j}");
        }
        let mut other = words.clone();
        other[3] ^= 1 << 40;
        let other: &[u8] = bytemuck::cast_slice(&other);
        assert!(!bytes_eq(&data[..32], &other[..32]));
        assert!(!bytes_eq(&data[..32], &data[..24]));
        assert_eq!(Some(le_word(&data[8..])), read_u64(data, 8));
    }
}
