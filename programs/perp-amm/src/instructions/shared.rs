//! Pieces every instruction group uses: the pool's signer seeds, token moves, price loading.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, MintTo, Token, Transfer};

use crate::bytes::{Aligned, keys_eq};
use crate::constants::{MAX_MARKETS, POOL_SEED};
use crate::errors::PerpError;
use crate::state::{Mark, Pool, read_mark};

/// Signer seeds of the pool PDA (authority of the vault and the LP mint).
pub struct PoolSeeds {
    quote_mint: Pubkey,
    pool_id: [u8; 8],
    bump: [u8; 1],
}

impl PoolSeeds {
    pub fn of(pool: &Pool) -> Self {
        PoolSeeds {
            quote_mint: pool.quote_mint,
            pool_id: pool.pool_id.to_le_bytes(),
            bump: [pool.bump],
        }
    }
    pub fn seeds(&self) -> [&[u8]; 4] {
        [
            POOL_SEED,
            self.quote_mint.as_ref(),
            &self.pool_id,
            &self.bump,
        ]
    }
}

/// Move `amount` from a user's token account into the vault, signed by the user.
pub fn transfer_in<'info>(
    token_program: &Program<'info, Token>,
    from: AccountInfo<'info>,
    vault: AccountInfo<'info>,
    owner: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token::transfer(
        CpiContext::new(
            token_program.key(),
            Transfer {
                from,
                to: vault,
                authority: owner,
            },
        ),
        amount,
    )
}

/// Move `amount` out of a vault, signed by the pool PDA whose `pool_seeds` are given (the
/// collateral pool uses these helpers with its own seeds).
pub fn transfer_out<'info>(
    token_program: &Program<'info, Token>,
    vault: AccountInfo<'info>,
    to: AccountInfo<'info>,
    pool: AccountInfo<'info>,
    pool_seeds: &[&[u8]],
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let signer: &[&[&[u8]]] = &[pool_seeds];
    token::transfer(
        CpiContext::new_with_signer(
            token_program.key(),
            Transfer {
                from: vault,
                to,
                authority: pool,
            },
            signer,
        ),
        amount,
    )
}

/// Mint `amount` of a mint whose authority is the pool PDA with `pool_seeds`.
pub fn mint_shares<'info>(
    token_program: &Program<'info, Token>,
    mint: AccountInfo<'info>,
    to: AccountInfo<'info>,
    pool: AccountInfo<'info>,
    pool_seeds: &[&[u8]],
    amount: u64,
) -> Result<()> {
    let signer: &[&[&[u8]]] = &[pool_seeds];
    token::mint_to(
        CpiContext::new_with_signer(
            token_program.key(),
            MintTo {
                mint,
                to,
                authority: pool,
            },
            signer,
        ),
        amount,
    )
}

pub fn burn_shares<'info>(
    token_program: &Program<'info, Token>,
    mint: AccountInfo<'info>,
    from: AccountInfo<'info>,
    owner: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token::burn(
        CpiContext::new(
            token_program.key(),
            Burn {
                mint,
                from,
                authority: owner,
            },
        ),
        amount,
    )
}

/// Marks of every active market for pool-wide valuation: `oracles` must hold one account per
/// active slot, in slot order. Markets with open interest need a fresh, tight price; markets
/// without any are not priced (their account is still checked), so an idle market whose oracle
/// has paused (FX, gold and oil over the weekend) does not block LP actions.
pub fn load_pool_marks(
    pool: &Pool,
    pool_key: &Pubkey,
    oracles: &[AccountInfo],
    now: i64,
) -> Result<Vec<Option<Mark>>> {
    // on the heap: SBF stack frames are limited to 4 KB
    let mut marks = vec![None; MAX_MARKETS];
    // every oracle read compares this key: an aligned copy keeps those compares to word loads
    let pool_key = Aligned(*pool_key);
    let mut next = oracles.iter();
    for (i, slot) in pool.markets.iter().enumerate() {
        if slot.active == 0 {
            continue;
        }
        let info = next
            .next()
            .ok_or_else(|| error!(PerpError::MarketAccountsMismatch))?;
        require!(
            keys_eq(info.key, &slot.oracle),
            PerpError::MarketAccountsMismatch
        );
        if slot.long_oi == 0 && slot.short_oi == 0 {
            continue;
        }
        // the pool-wide read needs no feed id: the slot pins the oracle account itself
        marks[i] = Some(read_mark(
            info,
            slot.oracle_kind(),
            &pool_key.0,
            None,
            slot.mark_limits(pool.quote_decimals),
            now,
        )?);
    }
    require!(next.next().is_none(), PerpError::MarketAccountsMismatch);
    Ok(marks)
}
