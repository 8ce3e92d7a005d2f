//! SPL Token moves into and out of a pool's vaults and claim/share mints: one implementation of
//! each CPI for both programs. Out-moves and mints are signed by the pool PDA whose seeds are
//! given.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, MintTo, Token, Transfer};

/// Move `amount` from a user's token account into a vault, signed by the user.
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

/// Move `amount` out of a vault, signed by the pool PDA with `pool_seeds`; nothing for 0.
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
pub fn mint_to<'info>(
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

/// Burn `amount` from `from`, signed by its owner.
pub fn burn<'info>(
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

/// Burn `amount` from an account the pool PDA with `pool_seeds` owns (escrowed shares).
pub fn burn_signed<'info>(
    token_program: &Program<'info, Token>,
    mint: AccountInfo<'info>,
    from: AccountInfo<'info>,
    pool: AccountInfo<'info>,
    pool_seeds: &[&[u8]],
    amount: u64,
) -> Result<()> {
    let signer: &[&[&[u8]]] = &[pool_seeds];
    token::burn(
        CpiContext::new_with_signer(
            token_program.key(),
            Burn {
                mint,
                from,
                authority: pool,
            },
            signer,
        ),
        amount,
    )
}
