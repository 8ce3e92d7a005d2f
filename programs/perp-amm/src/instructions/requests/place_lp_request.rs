use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::WITHDRAWAL_EXECUTION_SECS;
use crate::errors::PerpError;
use crate::instructions::requests::{NewRequest, open_request, write_request};
use crate::instructions::shared::transfer_in;
use crate::state::{Pool, RequestKind, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct PlaceLpRequestArgs {
    /// The owner's request slot, < 16.
    pub slot: u8,
    /// `Deposit` or `Withdraw`.
    pub kind: RequestKind,
    /// Deposit: quote tokens (escrowed now). Withdraw: LP shares (escrowed now; they keep
    /// bearing the pool's result until the withdrawal executes).
    pub amount: u64,
    /// Fewest LP shares (deposit) or quote tokens (withdrawal) accepted.
    pub min_out: u64,
    /// Lamports for the keeper that executes it.
    pub keeper_fee: u64,
    /// The request address's bump (the client computes it).
    pub request_bump: u8,
}

#[derive(Accounts)]
pub struct PlaceLpRequest<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = vault @ PerpError::WrongVault,
        has_one = lp_mint @ PerpError::WrongMint,
    )]
    pub pool: AccountLoader<'info, Pool>,
    /// CHECK: the request PDA [REQUEST_SEED, pool, owner, slot] (checked with
    /// `args.request_bump`), created here.
    #[account(mut)]
    pub request: UncheckedAccount<'info>,
    /// CHECK: the pool's vault (`has_one`); the token program checks the transfer.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: the pool's LP mint (`has_one`).
    pub lp_mint: UncheckedAccount<'info>,
    /// CHECK: the pool's LP escrow (its address is the pool's).
    #[account(mut, address = pool.load()?.lp_escrow @ PerpError::WrongVault)]
    pub lp_escrow: UncheckedAccount<'info>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_lp.mint == pool.load()?.lp_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_lp: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Place a deposit (quote escrowed in the vault) or a withdrawal (shares escrowed in the pool's
/// LP escrow, executable after the pool's withdrawal delay).
pub fn handle_place_lp_request(
    ctx: Context<PlaceLpRequest>,
    args: PlaceLpRequestArgs,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    require!(args.kind.is_lp(), PerpError::WrongRequestKind);
    require!(args.amount > 0, PerpError::ZeroAmount);
    let pool_key = a.pool.key();
    let (window, delay) = {
        let pool = a.pool.load()?;
        pool.require_not_paused(pause::LP)?;
        if args.kind == RequestKind::Deposit {
            require!(args.amount >= pool.min_deposit, PerpError::DepositTooSmall);
        }
        (
            pool.order_window_secs as i64,
            pool.withdrawal_delay_secs as i64,
        )
    };
    let deposit = args.kind == RequestKind::Deposit;
    if !deposit {
        require!(
            args.amount <= i64::MAX as u64 && a.owner_lp.amount >= args.amount,
            PerpError::InsufficientShares
        );
    }
    let (pay_to, refund_to) = if deposit {
        (a.owner_lp.key(), a.owner_quote.key())
    } else {
        (a.owner_quote.key(), a.owner_lp.key())
    };
    let request_info = a.request.to_account_info();
    let mut request = {
        let pool = a.pool.load()?;
        open_request(
            &request_info,
            &a.owner,
            &a.system_program,
            &pool,
            NewRequest {
                pool: pool_key,
                owner: a.owner.key(),
                market: Pubkey::default(),
                pay_to,
                refund_to,
                kind: args.kind,
                slot: args.slot,
                bump: args.request_bump,
                keeper_fee: args.keeper_fee,
                position_rent: 0,
            },
            now,
        )?
    };
    request.acceptable = args.min_out;
    if deposit {
        request.collateral = args.amount;
        request.expires_ts = now + window;
        transfer_in(
            &a.token_program,
            a.owner_quote.to_account_info(),
            a.vault.to_account_info(),
            a.owner.to_account_info(),
            args.amount,
        )?;
        let mut pool = a.pool.load_mut()?;
        pool.request_escrow = pool
            .request_escrow
            .checked_add(args.amount)
            .ok_or_else(|| error!(PerpError::MathOverflow))?;
    } else {
        request.size = args.amount as i64;
        request.executable_ts = now + delay;
        request.expires_ts = now + delay + window.max(WITHDRAWAL_EXECUTION_SECS);
        transfer_in(
            &a.token_program,
            a.owner_lp.to_account_info(),
            a.lp_escrow.to_account_info(),
            a.owner.to_account_info(),
            args.amount,
        )?;
    }
    write_request(&request_info, &request)
}
