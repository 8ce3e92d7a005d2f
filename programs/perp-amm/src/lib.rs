//! Keel perp AMM: one LP pool is the counterparty to leveraged perps on up to 32 markets, at an
//! oracle price plus the D8X digital-option premium (risk-increasing trades) or rebate
//! (risk-reducing trades). See README.md for the accounts, instructions and a numeric example.
#![allow(unexpected_cfgs)]
// Anchor's #[program] expands each instruction into a function taking every argument.
#![allow(clippy::too_many_arguments)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod engine;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod math;
pub mod risk;
pub mod state;

use instructions::*;
use state::MarketParams;

declare_id!("Bp9uMgxgYB2v1aqAQYSMcJ7QZrvZ5upSqr8wX66SWMgB");

// The shared oracle reader accepts push oracles owned by this id.
const _: () = assert!(keel_onchain::ids::same_key(
    &ID,
    &keel_onchain::ids::PERP_AMM
));

#[program]
pub mod perp_amm {
    use super::*;

    /// Create a pool on a quote (stablecoin) mint: its vault, LP mint and parameters.
    pub fn init_pool(ctx: Context<InitPool>, args: InitPoolArgs) -> Result<()> {
        instructions::admin::init_pool::handle_init_pool(ctx, args)
    }

    /// Add a market in the next free slot (authority only).
    pub fn add_market(ctx: Context<AddMarket>, args: AddMarketArgs) -> Result<()> {
        instructions::admin::add_market::handle_add_market(ctx, args)
    }

    /// Change a market's parameters (authority only).
    pub fn update_market(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
        instructions::admin::update_market::handle_update_market(ctx, params)
    }

    /// Set the pause bits (LP, open, close, liquidate, funding); unset bits resume.
    pub fn set_pause(ctx: Context<SetPause>, flags: u8) -> Result<()> {
        instructions::admin::set_pause::handle_set_pause(ctx, flags)
    }

    /// Propose a new authority (step one of two).
    pub fn propose_authority(ctx: Context<ProposeAuthority>, new_authority: Pubkey) -> Result<()> {
        instructions::admin::transfer_authority::handle_propose_authority(ctx, new_authority)
    }

    /// Accept the authority (step two, signed by the proposed authority).
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        instructions::admin::transfer_authority::handle_accept_authority(ctx)
    }

    /// Create a push-oracle price account (oracle authority only).
    pub fn init_push_oracle(
        ctx: Context<InitPushOracle>,
        feed_id: [u8; 32],
        expo: i32,
    ) -> Result<()> {
        instructions::admin::push_oracle::handle_init_push_oracle(ctx, feed_id, expo)
    }

    /// Publish a price to a push oracle (oracle authority only; timestamps never go back).
    pub fn update_push_oracle(ctx: Context<UpdatePushOracle>, args: PushPriceArgs) -> Result<()> {
        instructions::admin::push_oracle::handle_update_push_oracle(ctx, args)
    }

    /// Deposit quote tokens for LP shares, priced on the pool's value leaned high.
    pub fn deposit<'info>(ctx: Context<'info, Deposit<'info>>, args: DepositArgs) -> Result<()> {
        instructions::lp::deposit::handle_deposit(ctx, args)
    }

    /// Burn LP shares for quote tokens, priced on the pool's value leaned low; capital reserved
    /// for open positions stays.
    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, args: WithdrawArgs) -> Result<()> {
        instructions::lp::withdraw::handle_withdraw(ctx, args)
    }

    /// Add to the default fund (permissionless; the fund is never withdrawn).
    pub fn fund_default_fund(ctx: Context<FundDefaultFund>, amount: u64) -> Result<()> {
        instructions::lp::fund_default_fund::handle_fund_default_fund(ctx, amount)
    }

    /// Open a position with margin, at the D8X price.
    pub fn open_position(ctx: Context<OpenPosition>, args: OpenPositionArgs) -> Result<()> {
        instructions::trader::open_position::handle_open_position(ctx, args)
    }

    /// Add to a position (same side), optionally posting margin.
    pub fn increase_position(ctx: Context<Trade>, args: IncreasePositionArgs) -> Result<()> {
        instructions::trader::increase_position::handle_increase_position(ctx, args)
    }

    /// Reduce a position; realised PnL stays in its collateral.
    pub fn decrease_position(ctx: Context<Trade>, args: DecreasePositionArgs) -> Result<()> {
        instructions::trader::decrease_position::handle_decrease_position(ctx, args)
    }

    /// Close a position and pay out its collateral.
    pub fn close_position(ctx: Context<ClosePosition>, price_limit_e9: u64) -> Result<()> {
        instructions::trader::close_position::handle_close_position(ctx, price_limit_e9)
    }

    /// Post more margin.
    pub fn add_collateral(ctx: Context<Trade>, amount: u64) -> Result<()> {
        instructions::trader::collateral::handle_add_collateral(ctx, amount)
    }

    /// Withdraw margin, keeping the initial margin.
    pub fn remove_collateral(ctx: Context<Trade>, amount: u64) -> Result<()> {
        instructions::trader::collateral::handle_remove_collateral(ctx, amount)
    }

    /// Liquidate a position below maintenance margin (permissionless, rewarded).
    pub fn liquidate(ctx: Context<Liquidate>) -> Result<()> {
        instructions::keeper::liquidate::handle_liquidate(ctx)
    }

    /// Accrue a market's funding to now (permissionless).
    pub fn update_funding(ctx: Context<UpdateFunding>) -> Result<()> {
        instructions::keeper::update_funding::handle_update_funding(ctx)
    }

    /// Permissionless: recompute the pool's Imbalance Score from every market's oracle.
    pub fn refresh_imbalance<'info>(ctx: Context<'info, RefreshImbalance<'info>>) -> Result<()> {
        instructions::keeper::refresh_imbalance::handle_refresh_imbalance(ctx)
    }

    /// Create the pool's risk model (σ and correlations for the Imbalance Score) and name its
    /// publisher.
    pub fn init_risk_model(ctx: Context<InitRiskModel>, args: InitRiskModelArgs) -> Result<()> {
        instructions::risk::init_risk_model::handle_init_risk_model(ctx, args)
    }

    /// Risk publisher: write a piece of the next σ, R and its PSD certificate.
    pub fn stage_risk(ctx: Context<StageRisk>, args: StageRiskArgs) -> Result<()> {
        instructions::risk::stage_risk::handle_stage_risk(ctx, args)
    }

    /// Risk publisher: validate the staged model and make it current.
    pub fn commit_risk(ctx: Context<CommitRisk>, as_of: i64) -> Result<()> {
        instructions::risk::commit_risk::handle_commit_risk(ctx, as_of)
    }

    /// Change the pool's Imbalance Score limit and premium mode (pool authority).
    pub fn set_risk_limits(ctx: Context<SetRiskLimits>, limits: RiskLimits) -> Result<()> {
        instructions::risk::set_risk_limits::handle_set_risk_limits(ctx, limits)
    }
}
