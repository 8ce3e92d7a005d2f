//! SPL Token helpers every command and fixture shares: associated token accounts (the default
//! account of every command that moves tokens, created idempotently when a command pays into
//! one the user may not have yet) and the instructions that create a mint.

use anchor_lang::prelude::{Pubkey, Rent};
use anchor_lang::solana_program::{program_pack::Pack, system_instruction};
use anchor_spl::token::spl_token;
use solana_instruction::{AccountMeta, Instruction};

/// The SPL Associated Token Account program.
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey =
    anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// The associated token account of `owner` for `mint` (SPL Token).
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[owner.as_ref(), spl_token::ID.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM_ID,
    )
    .0
}

/// Create `owner`'s associated token account for `mint`, paid by `payer`, unless it exists
/// (`CreateIdempotent`: succeeds either way, so it can lead any transaction that pays into the
/// account).
pub fn create_ata_idempotent(payer: &Pubkey, owner: &Pubkey, mint: &Pubkey) -> Instruction {
    Instruction {
        program_id: ASSOCIATED_TOKEN_PROGRAM_ID,
        accounts: vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(associated_token_address(owner, mint), false),
            AccountMeta::new_readonly(*owner, false),
            AccountMeta::new_readonly(*mint, false),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
            AccountMeta::new_readonly(spl_token::ID, false),
        ],
        data: vec![1], // AssociatedTokenAccountInstruction::CreateIdempotent
    }
}

/// The token account a command pays into: `given`, or else `owner`'s associated account for
/// `mint` with the idempotent create (paid by `owner`) that the command's transaction leads
/// with, so that a first-time user who has no such account yet gets one.
pub fn payout_account(
    given: Option<Pubkey>,
    owner: &Pubkey,
    mint: &Pubkey,
) -> (Pubkey, Option<Instruction>) {
    match given {
        Some(account) => (account, None),
        None => (
            associated_token_address(owner, mint),
            Some(create_ata_idempotent(owner, owner, mint)),
        ),
    }
}

/// The rent-exempt balance of a mint account, as every cluster and the embedded runtime charge
/// it.
pub fn mint_rent() -> u64 {
    Rent::default().minimum_balance(spl_token::state::Mint::LEN)
}

/// Create the mint `mint` (a new keypair's address, which must sign) with `decimals` and mint
/// authority `authority`, funded with `lamports` by `payer`: a system `create_account` and
/// `initialize_mint2`, no freeze authority. [`mint_rent`] is the usual `lamports`.
pub fn create_mint_ixs(
    payer: &Pubkey,
    mint: &Pubkey,
    authority: &Pubkey,
    decimals: u8,
    lamports: u64,
) -> Vec<Instruction> {
    vec![
        system_instruction::create_account(
            payer,
            mint,
            lamports,
            spl_token::state::Mint::LEN as u64,
            &spl_token::ID,
        ),
        spl_token::instruction::initialize_mint2(&spl_token::ID, mint, authority, None, decimals)
            .expect("initialize_mint2 refuses only a token program other than SPL Token's"),
    ]
}

/// The rent-exempt balance of a token account.
pub fn token_account_rent() -> u64 {
    Rent::default().minimum_balance(spl_token::state::Account::LEN)
}

/// Create the token account `account` (a new keypair's address, which must sign) of `mint` for
/// `owner`, funded with `lamports` by `payer`: a system `create_account` and
/// `initialize_account3`. [`token_account_rent`] is the usual `lamports`.
pub fn create_token_account_ixs(
    payer: &Pubkey,
    account: &Pubkey,
    mint: &Pubkey,
    owner: &Pubkey,
    lamports: u64,
) -> Vec<Instruction> {
    vec![
        system_instruction::create_account(
            payer,
            account,
            lamports,
            spl_token::state::Account::LEN as u64,
            &spl_token::ID,
        ),
        spl_token::instruction::initialize_account3(&spl_token::ID, account, mint, owner)
            .expect("initialize_account3 refuses only a token program other than SPL Token's"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotent_create_is_the_ata_programs_instruction() {
        let (payer, owner, mint) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let ix = create_ata_idempotent(&payer, &owner, &mint);
        assert_eq!(ix.program_id, ASSOCIATED_TOKEN_PROGRAM_ID);
        assert_eq!(ix.data, vec![1]);
        let keys: Vec<_> = ix.accounts.iter().map(|m| m.pubkey).collect();
        assert_eq!(
            keys,
            vec![
                payer,
                associated_token_address(&owner, &mint),
                owner,
                mint,
                anchor_lang::system_program::ID,
                spl_token::ID
            ]
        );
        let flags: Vec<_> = ix
            .accounts
            .iter()
            .map(|m| (m.is_signer, m.is_writable))
            .collect();
        assert_eq!(
            flags,
            vec![
                (true, true),
                (false, true),
                (false, false),
                (false, false),
                (false, false),
                (false, false)
            ]
        );
    }
}
