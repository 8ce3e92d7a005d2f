//! One client helper per perp-amm instruction. Each derives its PDAs from the program's seed
//! constants and returns the `Instruction`, so tests can also build bad variants by hand.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::AccountMeta;
use anchor_lang::{InstructionData, ToAccountMetas, system_program};
use anchor_spl::token::spl_token;
use perp_amm::constants::{
    CALENDAR_SEED, LP_ESCROW_SEED, LP_MINT_SEED, MARKET_CHANGE_SEED, MARKET_SEED, POOL_SEED,
    POSITION_SEED, PUSH_ORACLE_SEED, REQUEST_SEED, RISK_MODEL_SEED, VAULT_SEED,
};
use perp_amm::instructions::*;
use perp_amm::state::MarketParams;
use solana_instruction::Instruction;

pub fn pool_pda(quote_mint: &Pubkey, pool_id: u64) -> Pubkey {
    Pubkey::find_program_address(
        &[POOL_SEED, quote_mint.as_ref(), &pool_id.to_le_bytes()],
        &perp_amm::ID,
    )
    .0
}
pub fn vault_pda(pool: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[VAULT_SEED, pool.as_ref()], &perp_amm::ID).0
}
pub fn lp_mint_pda(pool: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[LP_MINT_SEED, pool.as_ref()], &perp_amm::ID).0
}
pub fn market_pda(pool: &Pubkey, index: u8) -> Pubkey {
    Pubkey::find_program_address(&[MARKET_SEED, pool.as_ref(), &[index]], &perp_amm::ID).0
}
pub fn calendar_pda(pool: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[CALENDAR_SEED, pool.as_ref()], &perp_amm::ID).0
}
pub fn market_change_pda(market: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[MARKET_CHANGE_SEED, market.as_ref()], &perp_amm::ID).0
}
pub fn position_pda(market: &Pubkey, owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[POSITION_SEED, market.as_ref(), owner.as_ref()],
        &perp_amm::ID,
    )
    .0
}
pub fn request_pda(pool: &Pubkey, owner: &Pubkey, slot: u8) -> Pubkey {
    Pubkey::find_program_address(
        &[REQUEST_SEED, pool.as_ref(), owner.as_ref(), &[slot]],
        &perp_amm::ID,
    )
    .0
}
fn request_bump(pool: &Pubkey, owner: &Pubkey, slot: u8) -> u8 {
    Pubkey::find_program_address(
        &[REQUEST_SEED, pool.as_ref(), owner.as_ref(), &[slot]],
        &perp_amm::ID,
    )
    .1
}
pub fn lp_escrow_pda(pool: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[LP_ESCROW_SEED, pool.as_ref()], &perp_amm::ID).0
}
pub fn push_oracle_pda(pool: &Pubkey, feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[PUSH_ORACLE_SEED, pool.as_ref(), feed_id], &perp_amm::ID).0
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: perp_amm::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

pub fn init_pool(authority: &Pubkey, quote_mint: &Pubkey, args: InitPoolArgs) -> Instruction {
    let pool = pool_pda(quote_mint, args.pool_id);
    ix(
        perp_amm::accounts::InitPool {
            authority: *authority,
            quote_mint: *quote_mint,
            pool,
            vault: vault_pda(&pool),
            lp_mint: lp_mint_pda(&pool),
            lp_escrow: lp_escrow_pda(&pool),
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        perp_amm::instruction::InitPool { args },
    )
}

pub fn add_market(
    authority: &Pubkey,
    pool: &Pubkey,
    index: u8,
    oracle: &Pubkey,
    args: AddMarketArgs,
) -> Instruction {
    ix(
        perp_amm::accounts::AddMarket {
            authority: *authority,
            pool: *pool,
            market: market_pda(pool, index),
            oracle: *oracle,
            system_program: system_program::ID,
        },
        perp_amm::instruction::AddMarket { args },
    )
}

/// The pool authority changes a market's parameters; `oracle` is the market's (read when the
/// funding rate changes, to accrue funding to now at the old rate).
pub fn update_market(
    authority: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    params: MarketParams,
) -> Instruction {
    ix(
        perp_amm::accounts::UpdateMarket {
            authority: *authority,
            pool: *pool,
            market: *market,
            oracle: *oracle,
        },
        perp_amm::instruction::UpdateMarket { params },
    )
}

/// The pool authority announces new parameters for a market (due after the notice period).
pub fn propose_market_change(
    authority: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    params: MarketParams,
) -> Instruction {
    ix(
        perp_amm::accounts::ProposeMarketChange {
            authority: *authority,
            pool: *pool,
            market: *market,
            change: market_change_pda(market),
            system_program: system_program::ID,
        },
        perp_amm::instruction::ProposeMarketChange { params },
    )
}

/// Anyone applies a market's announced change once due; `oracle` is the market's.
pub fn apply_market_change(pool: &Pubkey, market: &Pubkey, oracle: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::ApplyMarketChange {
            pool: *pool,
            market: *market,
            change: market_change_pda(market),
            oracle: *oracle,
            calendar: calendar_pda(pool),
        },
        perp_amm::instruction::ApplyMarketChange {},
    )
}

/// The pool authority withdraws a market's announced change.
pub fn cancel_market_change(authority: &Pubkey, pool: &Pubkey, market: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::CancelMarketChange {
            authority: *authority,
            pool: *pool,
            market: *market,
            change: market_change_pda(market),
        },
        perp_amm::instruction::CancelMarketChange {},
    )
}

pub fn set_pause(authority: &Pubkey, pool: &Pubkey, flags: u8) -> Instruction {
    ix(
        perp_amm::accounts::SetPause {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::SetPause { flags },
    )
}

pub fn propose_authority(authority: &Pubkey, pool: &Pubkey, new_authority: Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::ProposeAuthority {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::ProposeAuthority { new_authority },
    )
}

pub fn accept_authority(new_authority: &Pubkey, pool: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::AcceptAuthority {
            new_authority: *new_authority,
            pool: *pool,
        },
        perp_amm::instruction::AcceptAuthority {},
    )
}

pub fn init_push_oracle(
    oracle_authority: &Pubkey,
    pool: &Pubkey,
    feed_id: [u8; 32],
    expo: i32,
) -> Instruction {
    ix(
        perp_amm::accounts::InitPushOracle {
            oracle_authority: *oracle_authority,
            pool: *pool,
            oracle: push_oracle_pda(pool, &feed_id),
            system_program: system_program::ID,
        },
        perp_amm::instruction::InitPushOracle { feed_id, expo },
    )
}

pub fn update_push_oracle(
    oracle_authority: &Pubkey,
    pool: &Pubkey,
    oracle: &Pubkey,
    args: PushPriceArgs,
) -> Instruction {
    ix(
        perp_amm::accounts::UpdatePushOracle {
            oracle_authority: *oracle_authority,
            pool: *pool,
            oracle: *oracle,
        },
        perp_amm::instruction::UpdatePushOracle { args },
    )
}

fn with_oracles(mut ix: Instruction, oracles: &[Pubkey]) -> Instruction {
    ix.accounts
        .extend(oracles.iter().map(|k| AccountMeta::new_readonly(*k, false)));
    ix
}

/// A trade request: the owner's order in `market` (a market, limit, take-profit or stop-loss
/// order, or a margin removal), in request slot `args.slot`.
pub fn place_order(
    owner: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    owner_quote: &Pubkey,
    mut args: PlaceOrderArgs,
) -> Instruction {
    args.request_bump = request_bump(pool, owner, args.slot);
    args.position_bump = Pubkey::find_program_address(
        &[POSITION_SEED, market.as_ref(), owner.as_ref()],
        &perp_amm::ID,
    )
    .1;
    ix(
        perp_amm::accounts::PlaceOrder {
            owner: *owner,
            pool: *pool,
            market: *market,
            position: position_pda(market, owner),
            request: request_pda(pool, owner, args.slot),
            vault: vault_pda(pool),
            owner_quote: *owner_quote,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        perp_amm::instruction::PlaceOrder { args },
    )
}

/// A deposit or withdrawal request in slot `args.slot`.
pub fn place_lp_request(
    owner: &Pubkey,
    pool: &Pubkey,
    owner_quote: &Pubkey,
    owner_lp: &Pubkey,
    mut args: PlaceLpRequestArgs,
) -> Instruction {
    args.request_bump = request_bump(pool, owner, args.slot);
    ix(
        perp_amm::accounts::PlaceLpRequest {
            owner: *owner,
            pool: *pool,
            request: request_pda(pool, owner, args.slot),
            vault: vault_pda(pool),
            lp_mint: lp_mint_pda(pool),
            lp_escrow: lp_escrow_pda(pool),
            owner_quote: *owner_quote,
            owner_lp: *owner_lp,
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        perp_amm::instruction::PlaceLpRequest { args },
    )
}

/// What a keeper needs to know of a pending trade request to execute or clear it.
#[derive(Clone, Copy, Debug)]
pub struct RequestRef {
    pub request: Pubkey,
    pub owner: Pubkey,
    pub market: Pubkey,
    pub pay_to: Pubkey,
    pub refund_to: Pubkey,
}

impl RequestRef {
    pub fn of(key: Pubkey, r: &perp_amm::state::Request) -> Self {
        RequestRef {
            request: key,
            owner: r.owner,
            market: r.market,
            pay_to: r.pay_to,
            refund_to: r.refund_to,
        }
    }
}

/// A keeper executes a trade request against `oracle` (the market's).
pub fn execute_order(
    keeper: &Pubkey,
    pool: &Pubkey,
    r: &RequestRef,
    oracle: &Pubkey,
    risk_model: Option<Pubkey>,
) -> Instruction {
    ix(
        perp_amm::accounts::ExecuteOrder {
            keeper: *keeper,
            pool: *pool,
            calendar: calendar_pda(pool),
            market: r.market,
            position: position_pda(&r.market, &r.owner),
            request: r.request,
            owner: r.owner,
            oracle: *oracle,
            vault: vault_pda(pool),
            owner_quote: r.pay_to,
            token_program: spl_token::ID,
            risk_model,
            system_program: system_program::ID,
        },
        perp_amm::instruction::ExecuteOrder {},
    )
}

/// A keeper executes a deposit or withdrawal request; `oracles`: every active market's.
pub fn execute_lp_request(
    keeper: &Pubkey,
    pool: &Pubkey,
    r: &RequestRef,
    oracles: &[Pubkey],
) -> Instruction {
    with_oracles(
        ix(
            perp_amm::accounts::ExecuteLpRequest {
                keeper: *keeper,
                pool: *pool,
                calendar: calendar_pda(pool),
                request: r.request,
                owner: r.owner,
                vault: vault_pda(pool),
                lp_mint: lp_mint_pda(pool),
                lp_escrow: lp_escrow_pda(pool),
                pay_to: r.pay_to,
                refund_to: r.refund_to,
                token_program: spl_token::ID,
            },
            perp_amm::instruction::ExecuteLpRequest {},
        ),
        oracles,
    )
}

/// The owner cancels a request, or (`signer` ≠ owner) anyone clears an expired one or one whose
/// position is gone.
pub fn cancel_request(signer: &Pubkey, pool: &Pubkey, r: &RequestRef) -> Instruction {
    let position = (r.market != Pubkey::default()).then(|| position_pda(&r.market, &r.owner));
    ix(
        perp_amm::accounts::CancelRequest {
            signer: *signer,
            pool: *pool,
            request: r.request,
            owner: r.owner,
            position,
            vault: vault_pda(pool),
            lp_escrow: lp_escrow_pda(pool),
            refund_to: r.refund_to,
            token_program: spl_token::ID,
        },
        perp_amm::instruction::CancelRequest {},
    )
}

pub fn set_request_params(
    authority: &Pubkey,
    pool: &Pubkey,
    params: perp_amm::state::RequestParams,
) -> Instruction {
    ix(
        perp_amm::accounts::SetRequestParams {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::SetRequestParams { params },
    )
}

pub fn add_collateral(
    owner: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    oracle: &Pubkey,
    owner_quote: &Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        perp_amm::accounts::Trade {
            owner: *owner,
            pool: *pool,
            market: *market,
            position: position_pda(market, owner),
            oracle: *oracle,
            vault: vault_pda(pool),
            owner_quote: *owner_quote,
            token_program: spl_token::ID,
            risk_model: None,
        },
        perp_amm::instruction::AddCollateral { amount },
    )
}

#[allow(clippy::too_many_arguments)]
pub fn liquidate(
    keeper: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    owner: &Pubkey,
    oracle: &Pubkey,
    keeper_quote: &Pubkey,
    owner_quote: &Pubkey,
    risk_model: Option<Pubkey>,
) -> Instruction {
    ix(
        perp_amm::accounts::Liquidate {
            keeper: *keeper,
            pool: *pool,
            calendar: calendar_pda(pool),
            market: *market,
            position: position_pda(market, owner),
            owner: *owner,
            oracle: *oracle,
            vault: vault_pda(pool),
            keeper_quote: *keeper_quote,
            owner_quote: *owner_quote,
            token_program: spl_token::ID,
            risk_model,
        },
        perp_amm::instruction::Liquidate {},
    )
}

/// In the hour before a long close, bring `owner`'s position down to the leverage it may hold
/// over the close (anyone; unrewarded).
pub fn reduce_before_close(
    keeper: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    owner: &Pubkey,
    oracle: &Pubkey,
    owner_quote: &Pubkey,
    risk_model: Option<Pubkey>,
) -> Instruction {
    ix(
        perp_amm::accounts::ReduceBeforeClose {
            keeper: *keeper,
            pool: *pool,
            calendar: calendar_pda(pool),
            market: *market,
            position: position_pda(market, owner),
            owner: *owner,
            oracle: *oracle,
            vault: vault_pda(pool),
            owner_quote: *owner_quote,
            token_program: spl_token::ID,
            risk_model,
        },
        perp_amm::instruction::ReduceBeforeClose {},
    )
}

/// Auto-deleverage up to `size` of `owner`'s position (anyone, while traders' profit exceeds
/// the pool's ceiling); `oracles`: every active market's oracle, in market order.
#[allow(clippy::too_many_arguments)]
pub fn deleverage(
    keeper: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    owner: &Pubkey,
    oracle: &Pubkey,
    owner_quote: &Pubkey,
    risk_model: Option<Pubkey>,
    oracles: &[Pubkey],
    size: u64,
) -> Instruction {
    with_oracles(
        ix(
            perp_amm::accounts::Deleverage {
                keeper: *keeper,
                pool: *pool,
                calendar: calendar_pda(pool),
                market: *market,
                position: position_pda(market, owner),
                owner: *owner,
                oracle: *oracle,
                vault: vault_pda(pool),
                owner_quote: *owner_quote,
                token_program: spl_token::ID,
                risk_model,
            },
            perp_amm::instruction::Deleverage { size },
        ),
        oracles,
    )
}

/// The pool authority sets auto-deleveraging's ceiling (bps of LP capital).
pub fn set_profit_ceiling(authority: &Pubkey, pool: &Pubkey, bps: u32) -> Instruction {
    ix(
        perp_amm::accounts::SetProfitCeiling {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::SetProfitCeiling { bps },
    )
}

pub fn update_funding(pool: &Pubkey, market: &Pubkey, oracle: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::UpdateFunding {
            pool: *pool,
            market: *market,
            oracle: *oracle,
        },
        perp_amm::instruction::UpdateFunding {},
    )
}

pub fn fund_default_fund(
    funder: &Pubkey,
    pool: &Pubkey,
    funder_quote: &Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        perp_amm::accounts::FundDefaultFund {
            funder: *funder,
            pool: *pool,
            vault: vault_pda(pool),
            funder_quote: *funder_quote,
            token_program: spl_token::ID,
        },
        perp_amm::instruction::FundDefaultFund { amount },
    )
}

pub fn risk_model_pda(pool: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[RISK_MODEL_SEED, pool.as_ref()], &perp_amm::ID).0
}

pub fn init_risk_model(authority: &Pubkey, pool: &Pubkey, args: InitRiskModelArgs) -> Instruction {
    ix(
        perp_amm::accounts::InitRiskModel {
            authority: *authority,
            pool: *pool,
            risk_model: risk_model_pda(pool),
            system_program: system_program::ID,
        },
        perp_amm::instruction::InitRiskModel { args },
    )
}

pub fn set_risk_limits(authority: &Pubkey, pool: &Pubkey, limits: RiskLimits) -> Instruction {
    ix(
        perp_amm::accounts::SetRiskLimits {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::SetRiskLimits { limits },
    )
}

/// The pool authority creates the pool's market-hours calendar.
pub fn init_calendar(authority: &Pubkey, pool: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::InitCalendar {
            authority: *authority,
            pool: *pool,
            calendar: calendar_pda(pool),
            system_program: system_program::ID,
        },
        perp_amm::instruction::InitCalendar {},
    )
}

/// The pool authority sets market-hours schedule `index` (1..=8).
pub fn set_schedule(
    authority: &Pubkey,
    pool: &Pubkey,
    index: u8,
    schedule: perp_amm::state::ScheduleArgs,
) -> Instruction {
    ix(
        perp_amm::accounts::SetSchedule {
            authority: *authority,
            pool: *pool,
            calendar: calendar_pda(pool),
        },
        perp_amm::instruction::SetSchedule { index, schedule },
    )
}

/// The pool authority announces a new premium mode or horizon (due after the notice period).
pub fn propose_premium_change(
    authority: &Pubkey,
    pool: &Pubkey,
    mode: u8,
    horizon_secs: u32,
) -> Instruction {
    ix(
        perp_amm::accounts::ProposePremiumChange {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::ProposePremiumChange { mode, horizon_secs },
    )
}

/// Anyone applies the pool's announced premium change once due.
pub fn apply_premium_change(pool: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::ApplyPremiumChange {
            pool: *pool,
            calendar: calendar_pda(pool),
        },
        perp_amm::instruction::ApplyPremiumChange {},
    )
}

/// The pool authority withdraws its announced premium change.
pub fn cancel_premium_change(authority: &Pubkey, pool: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::CancelPremiumChange {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::CancelPremiumChange {},
    )
}

/// The pool authority proposes `oracle_authority` as the pool's next push-oracle authority.
pub fn propose_oracle_authority(
    authority: &Pubkey,
    pool: &Pubkey,
    oracle_authority: Pubkey,
) -> Instruction {
    ix(
        perp_amm::accounts::ProposeOracleAuthority {
            authority: *authority,
            pool: *pool,
        },
        perp_amm::instruction::ProposeOracleAuthority { oracle_authority },
    )
}

/// The proposed oracle authority accepts.
pub fn accept_oracle_authority(oracle_authority: &Pubkey, pool: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::AcceptOracleAuthority {
            oracle_authority: *oracle_authority,
            pool: *pool,
        },
        perp_amm::instruction::AcceptOracleAuthority {},
    )
}

/// The pool authority proposes `publisher` as the risk model's next publisher.
pub fn propose_risk_publisher(authority: &Pubkey, pool: &Pubkey, publisher: Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::ProposeRiskPublisher {
            authority: *authority,
            pool: *pool,
            risk_model: risk_model_pda(pool),
        },
        perp_amm::instruction::ProposeRiskPublisher { publisher },
    )
}

/// The pool authority bounds the risk publisher (interval, rolling window, σ ranges).
pub fn set_risk_bounds(authority: &Pubkey, pool: &Pubkey, bounds: RiskBoundsArgs) -> Instruction {
    ix(
        perp_amm::accounts::SetRiskBounds {
            authority: *authority,
            pool: *pool,
            risk_model: risk_model_pda(pool),
        },
        perp_amm::instruction::SetRiskBounds { bounds },
    )
}

/// The proposed publisher accepts.
pub fn accept_risk_publisher(publisher: &Pubkey, pool: &Pubkey) -> Instruction {
    ix(
        perp_amm::accounts::AcceptRiskPublisher {
            publisher: *publisher,
            risk_model: risk_model_pda(pool),
        },
        perp_amm::instruction::AcceptRiskPublisher {},
    )
}

pub fn stage_risk(
    risk_authority: &Pubkey,
    pool: &Pubkey,
    offset: u32,
    bytes: Vec<u8>,
) -> Instruction {
    ix(
        perp_amm::accounts::StageRisk {
            authority: *risk_authority,
            risk_model: risk_model_pda(pool),
        },
        perp_amm::instruction::StageRisk {
            args: StageRiskArgs { offset, bytes },
        },
    )
}

/// The compute units a commit asks for: it validates the certificate and re-scores the pool,
/// 201k CU with 32 markets in the bench (2026-12-05), past a transaction's default 200k.
pub const COMMIT_RISK_CU_LIMIT: u32 = 400_000;

pub use crate::transport::compute_unit_limit;

pub fn commit_risk(risk_authority: &Pubkey, pool: &Pubkey, as_of: i64) -> Instruction {
    ix(
        perp_amm::accounts::CommitRisk {
            authority: *risk_authority,
            pool: *pool,
            risk_model: risk_model_pda(pool),
        },
        perp_amm::instruction::CommitRisk { as_of },
    )
}

/// Bytes per `stage_risk` write: with the accounts and signature, one write fits a transaction.
pub const RISK_STAGE_CHUNK: usize = 900;

/// The `stage_risk` writes that publish σ (1e9 scale), R (strict upper triangle for
/// `sigma.len()` markets, 1e9 scale) and its certificate L (lower triangle with the diagonal,
/// 2^30 scale): the whole staging area, so nothing from an earlier attempt survives. One
/// instruction per transaction; `commit_risk` follows.
pub fn stage_risk_writes(
    risk_authority: &Pubkey,
    pool: &Pubkey,
    sigma_e9: &[u64],
    corr_upper: &[i32],
    chol_lower: &[i32],
) -> Result<Vec<Instruction>, String> {
    use perp_amm::state::StagedRisk;
    let mut staged: StagedRisk = bytemuck::Zeroable::zeroed();
    let fits = sigma_e9.len() <= staged.params.sigma_e9.len()
        && corr_upper.len() <= staged.params.corr_upper.len()
        && chol_lower.len() <= staged.chol_lower.len();
    if !fits {
        return Err(format!(
            "risk model for {} markets does not fit",
            sigma_e9.len()
        ));
    }
    staged.params.sigma_e9[..sigma_e9.len()].copy_from_slice(sigma_e9);
    staged.params.corr_upper[..corr_upper.len()].copy_from_slice(corr_upper);
    staged.chol_lower[..chol_lower.len()].copy_from_slice(chol_lower);
    Ok(bytemuck::bytes_of(&staged)
        .chunks(RISK_STAGE_CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            stage_risk(
                risk_authority,
                pool,
                (i * RISK_STAGE_CHUNK) as u32,
                chunk.to_vec(),
            )
        })
        .collect())
}

/// `oracles`: every active market's oracle, in market order.
pub fn refresh_imbalance(pool: &Pubkey, oracles: &[Pubkey]) -> Instruction {
    with_oracles(
        ix(
            perp_amm::accounts::RefreshImbalance {
                pool: *pool,
                calendar: calendar_pda(pool),
                risk_model: risk_model_pda(pool),
            },
            perp_amm::instruction::RefreshImbalance {},
        ),
        oracles,
    )
}
