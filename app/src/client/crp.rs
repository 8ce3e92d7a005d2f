//! One client helper per instruction of the crp (collateral rebalancing pool) program, deployed
//! as `collateral_pool`; PDAs from the program's seed constants.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{InstructionData, ToAccountMetas, system_program};
use anchor_spl::token::spl_token;
use collateral_pool::constants::{
    CRP_POOL_SEED, LENDER_MINT_SEED, RESIDUAL_MINT_SEED, RISKLESS_VAULT_SEED, RISKY_VAULT_SEED,
};
use collateral_pool::instructions::*;
use solana_instruction::Instruction;

pub use collateral_pool::ID as PROGRAM_ID;

/// The pool of `authority` (its creator) for a pair and an expiry.
pub fn pool_pda(
    risky_mint: &Pubkey,
    riskless_mint: &Pubkey,
    expiry: i64,
    authority: &Pubkey,
) -> Pubkey {
    Pubkey::find_program_address(
        &[
            CRP_POOL_SEED,
            risky_mint.as_ref(),
            riskless_mint.as_ref(),
            &expiry.to_le_bytes(),
            authority.as_ref(),
        ],
        &PROGRAM_ID,
    )
    .0
}
fn pda(seed: &[u8], pool: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seed, pool.as_ref()], &PROGRAM_ID).0
}
pub fn risky_vault_pda(pool: &Pubkey) -> Pubkey {
    pda(RISKY_VAULT_SEED, pool)
}
pub fn riskless_vault_pda(pool: &Pubkey) -> Pubkey {
    pda(RISKLESS_VAULT_SEED, pool)
}
pub fn lender_mint_pda(pool: &Pubkey) -> Pubkey {
    pda(LENDER_MINT_SEED, pool)
}
pub fn residual_mint_pda(pool: &Pubkey) -> Pubkey {
    pda(RESIDUAL_MINT_SEED, pool)
}

/// A pool's addresses, derived once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolKeys {
    pub pool: Pubkey,
    pub risky_mint: Pubkey,
    pub riskless_mint: Pubkey,
    pub risky_vault: Pubkey,
    pub riskless_vault: Pubkey,
    pub lender_mint: Pubkey,
    pub residual_mint: Pubkey,
    pub oracle: Pubkey,
}

impl PoolKeys {
    /// The addresses of `authority`'s pool for (`risky_mint`, `riskless_mint`, `expiry`).
    pub fn new(
        risky_mint: Pubkey,
        riskless_mint: Pubkey,
        expiry: i64,
        authority: &Pubkey,
        oracle: Pubkey,
    ) -> Self {
        let pool = pool_pda(&risky_mint, &riskless_mint, expiry, authority);
        PoolKeys {
            pool,
            risky_mint,
            riskless_mint,
            risky_vault: risky_vault_pda(&pool),
            riskless_vault: riskless_vault_pda(&pool),
            lender_mint: lender_mint_pda(&pool),
            residual_mint: residual_mint_pda(&pool),
            oracle,
        }
    }
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: PROGRAM_ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

pub fn init_pool(authority: &Pubkey, k: &PoolKeys, args: InitCrpPoolArgs) -> Instruction {
    ix(
        collateral_pool::accounts::InitCrpPool {
            authority: *authority,
            risky_mint: k.risky_mint,
            riskless_mint: k.riskless_mint,
            pool: k.pool,
            risky_vault: k.risky_vault,
            riskless_vault: k.riskless_vault,
            lender_mint: k.lender_mint,
            residual_mint: k.residual_mint,
            oracle: k.oracle,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        collateral_pool::instruction::InitPool { args },
    )
}

/// `riskless` is the lender's riskless token account, `claims` their lender-claim account.
pub fn lend(
    lender: &Pubkey,
    k: &PoolKeys,
    riskless: &Pubkey,
    claims: &Pubkey,
    args: LendArgs,
) -> Instruction {
    ix(
        collateral_pool::accounts::Lend {
            lender: *lender,
            pool: k.pool,
            riskless_vault: k.riskless_vault,
            lender_mint: k.lender_mint,
            lender_riskless: *riskless,
            lender_claims: *claims,
            token_program: spl_token::ID,
        },
        collateral_pool::instruction::Lend { args },
    )
}

/// The borrower's token accounts: (risky, riskless, residual claims).
pub fn borrow(
    borrower: &Pubkey,
    k: &PoolKeys,
    accounts: (&Pubkey, &Pubkey, &Pubkey),
    args: BorrowArgs,
) -> Instruction {
    ix(
        collateral_pool::accounts::Borrow {
            borrower: *borrower,
            pool: k.pool,
            oracle: k.oracle,
            risky_vault: k.risky_vault,
            riskless_vault: k.riskless_vault,
            residual_mint: k.residual_mint,
            borrower_risky: *accounts.0,
            borrower_riskless: *accounts.1,
            borrower_residual: *accounts.2,
            token_program: spl_token::ID,
        },
        collateral_pool::instruction::Borrow { args },
    )
}

pub fn swap(
    trader: &Pubkey,
    k: &PoolKeys,
    risky: &Pubkey,
    riskless: &Pubkey,
    args: SwapArgs,
) -> Instruction {
    ix(
        collateral_pool::accounts::SwapTokens {
            trader: *trader,
            pool: k.pool,
            oracle: k.oracle,
            risky_vault: k.risky_vault,
            riskless_vault: k.riskless_vault,
            trader_risky: *risky,
            trader_riskless: *riskless,
            token_program: spl_token::ID,
        },
        collateral_pool::instruction::Swap { args },
    )
}

pub fn rebalance(keeper: &Pubkey, k: &PoolKeys) -> Instruction {
    ix(
        collateral_pool::accounts::Rebalance {
            keeper: *keeper,
            pool: k.pool,
            oracle: k.oracle,
        },
        collateral_pool::instruction::Rebalance {},
    )
}

pub fn trigger_conversion(caller: &Pubkey, k: &PoolKeys) -> Instruction {
    ix(
        collateral_pool::accounts::TriggerConversion {
            caller: *caller,
            pool: k.pool,
            oracle: k.oracle,
        },
        collateral_pool::instruction::TriggerConversion {},
    )
}

pub fn settle(caller: &Pubkey, k: &PoolKeys) -> Instruction {
    ix(
        collateral_pool::accounts::Settle {
            caller: *caller,
            pool: k.pool,
            oracle: k.oracle,
        },
        collateral_pool::instruction::Settle {},
    )
}

/// The owner's token accounts: (lender claims, risky, riskless); risky is paid only after a
/// settlement in kind.
pub fn redeem_lender(
    owner: &Pubkey,
    k: &PoolKeys,
    accounts: (&Pubkey, &Pubkey, &Pubkey),
    claims: u64,
) -> Instruction {
    let (claims_account, risky, riskless) = accounts;
    ix(
        collateral_pool::accounts::RedeemLender {
            owner: *owner,
            pool: k.pool,
            risky_vault: k.risky_vault,
            riskless_vault: k.riskless_vault,
            lender_mint: k.lender_mint,
            owner_claims: *claims_account,
            owner_risky: *risky,
            owner_riskless: *riskless,
            token_program: spl_token::ID,
        },
        collateral_pool::instruction::RedeemLender { claims },
    )
}

/// The owner's token accounts: (residual claims, risky, riskless).
pub fn redeem_borrower(
    owner: &Pubkey,
    k: &PoolKeys,
    accounts: (&Pubkey, &Pubkey, &Pubkey),
    claims: u64,
) -> Instruction {
    ix(
        collateral_pool::accounts::RedeemBorrower {
            owner: *owner,
            pool: k.pool,
            risky_vault: k.risky_vault,
            riskless_vault: k.riskless_vault,
            residual_mint: k.residual_mint,
            owner_residual: *accounts.0,
            owner_risky: *accounts.1,
            owner_riskless: *accounts.2,
            token_program: spl_token::ID,
        },
        collateral_pool::instruction::RedeemBorrower { claims },
    )
}

pub fn fund_reserve(funder: &Pubkey, k: &PoolKeys, riskless: &Pubkey, amount: u64) -> Instruction {
    ix(
        collateral_pool::accounts::FundReserve {
            funder: *funder,
            pool: k.pool,
            riskless_vault: k.riskless_vault,
            funder_riskless: *riskless,
            token_program: spl_token::ID,
        },
        collateral_pool::instruction::FundReserve { amount },
    )
}

pub fn set_pause(authority: &Pubkey, pool: &Pubkey, flags: u8) -> Instruction {
    ix(
        collateral_pool::accounts::SetCrpPause {
            authority: *authority,
            pool: *pool,
        },
        collateral_pool::instruction::SetPause { flags },
    )
}

/// The trade that moves a pool's price back to `price` (riskless native per risky native) at
/// `now` (the weight is where its ramp is then): its direction (`true`: risky in) and exact-in
/// amount, 99 % of the way and at most the pool's trade cap of the balance it enters. The
/// arbitrageur's sizing in the tests and the sandbox; `None` when a balance is empty.
/// Off-chain float arithmetic: the program prices the trade.
pub fn arbitrage_trade(
    p: &collateral_pool::state::CrpPool,
    price: f64,
    now: i64,
) -> Option<(bool, u64)> {
    let w = p.weight_at(now).ok()?.to_num::<f64>();
    let (x, y) = (p.risky_balance as f64, p.riskless_balance as f64);
    if x <= 0.0 || y <= 0.0 {
        return None;
    }
    // invariant x^w y^(1−w) = L; at price P the balances satisfy y/x = P·(1 − w)/w
    let l = x.powf(w) * y.powf(1.0 - w);
    let ratio = price * (1.0 - w) / w;
    let x_target = l / ratio.powf(1.0 - w);
    let cap = p.params.max_trade_ratio_bps as f64 / 1e4;
    // the pool's risky is dear: sell it some; or cheap: buy it with riskless
    let risky_in = x_target > x;
    let amount = if risky_in {
        ((x_target - x) * 0.99).min(x * cap)
    } else {
        ((x_target * ratio - y) * 0.99).min(y * cap)
    };
    Some((risky_in, amount.max(0.0) as u64))
}
