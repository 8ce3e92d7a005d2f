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
use state::{MarketParams, RequestParams, ScheduleArgs};

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

    /// Change a market's parameters at once (authority only; none that worsen open positions).
    pub fn update_market(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
        instructions::admin::update_market::handle_update_market(ctx, params)
    }

    /// Create the pool's market-hours calendar (authority only).
    pub fn init_calendar(ctx: Context<InitCalendar>) -> Result<()> {
        instructions::admin::set_schedule::handle_init_calendar(ctx)
    }

    /// Set a market-hours schedule: at once when unused, else after a day's notice (authority
    /// only).
    pub fn set_schedule(
        ctx: Context<SetSchedule>,
        index: u8,
        schedule: ScheduleArgs,
    ) -> Result<()> {
        instructions::admin::set_schedule::handle_set_schedule(ctx, index, schedule)
    }

    /// Announce a market change that takes effect after its notice (authority only).
    pub fn propose_market_change(
        ctx: Context<ProposeMarketChange>,
        params: MarketParams,
    ) -> Result<()> {
        instructions::admin::market_change::handle_propose_market_change(ctx, params)
    }

    /// Apply an announced market change once due (anyone).
    pub fn apply_market_change(ctx: Context<ApplyMarketChange>) -> Result<()> {
        instructions::admin::market_change::handle_apply_market_change(ctx)
    }

    /// Withdraw an announced market change (authority only).
    pub fn cancel_market_change(ctx: Context<CancelMarketChange>) -> Result<()> {
        instructions::admin::market_change::handle_cancel_market_change(ctx)
    }

    /// Set auto-deleveraging's ceiling, bps of LP capital (authority only).
    pub fn set_profit_ceiling(ctx: Context<SetProfitCeiling>, bps: u32) -> Result<()> {
        instructions::admin::set_profit_ceiling::handle_set_profit_ceiling(ctx, bps)
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

    /// Name the next push-oracle authority (pool authority; step one of two).
    pub fn propose_oracle_authority(
        ctx: Context<ProposeOracleAuthority>,
        oracle_authority: Pubkey,
    ) -> Result<()> {
        instructions::admin::transfer_authority::handle_propose_oracle_authority(
            ctx,
            oracle_authority,
        )
    }

    /// The proposed oracle authority takes over (step two).
    pub fn accept_oracle_authority(ctx: Context<AcceptOracleAuthority>) -> Result<()> {
        instructions::admin::transfer_authority::handle_accept_oracle_authority(ctx)
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

    /// Place a trade request (market, limit, take-profit, stop-loss, margin removal) for a
    /// keeper to execute at a later price; escrows an increase's collateral.
    pub fn place_order<'info>(
        ctx: Context<'info, PlaceOrder<'info>>,
        args: PlaceOrderArgs,
    ) -> Result<()> {
        instructions::requests::place_order::handle_place_order(ctx, args)
    }

    /// Place a deposit or withdrawal request (escrows the quote tokens or the LP shares).
    pub fn place_lp_request<'info>(
        ctx: Context<'info, PlaceLpRequest<'info>>,
        args: PlaceLpRequestArgs,
    ) -> Result<()> {
        instructions::requests::place_lp_request::handle_place_lp_request(ctx, args)
    }

    /// Keeper: execute a trade request at a price published after it (permissionless, paid
    /// the request's fee); a refused fill closes it with a refund.
    pub fn execute_order<'info>(ctx: Context<'info, ExecuteOrder<'info>>) -> Result<()> {
        instructions::requests::execute_order::handle_execute_order(ctx)
    }

    /// Keeper: execute a deposit or withdrawal request at prices published after it.
    pub fn execute_lp_request<'info>(ctx: Context<'info, ExecuteLpRequest<'info>>) -> Result<()> {
        instructions::requests::execute_lp_request::handle_execute_lp_request(ctx)
    }

    /// Cancel a request (owner), or clear an expired one or one whose position is gone
    /// (anyone): everything returns to the owner.
    pub fn cancel_request<'info>(ctx: Context<'info, CancelRequest<'info>>) -> Result<()> {
        instructions::requests::cancel_request::handle_cancel_request(ctx)
    }

    /// Change the request settings (authority only).
    pub fn set_request_params(ctx: Context<SetRequestParams>, params: RequestParams) -> Result<()> {
        instructions::admin::set_request_params::handle_set_request_params(ctx, params)
    }

    /// Add to the default fund (permissionless; the fund is never withdrawn).
    pub fn fund_default_fund(ctx: Context<FundDefaultFund>, amount: u64) -> Result<()> {
        instructions::lp::fund_default_fund::handle_fund_default_fund(ctx, amount)
    }

    /// Post more margin.
    pub fn add_collateral(ctx: Context<Trade>, amount: u64) -> Result<()> {
        instructions::trader::collateral::handle_add_collateral(ctx, amount)
    }

    /// Liquidate a position below maintenance margin (permissionless, rewarded).
    pub fn liquidate(ctx: Context<Liquidate>) -> Result<()> {
        instructions::keeper::liquidate::handle_liquidate(ctx)
    }

    /// In the hour before a long close, bring a position above the leverage it may hold over
    /// the close down to it (permissionless, unrewarded).
    pub fn reduce_before_close(ctx: Context<ReduceBeforeClose>) -> Result<()> {
        instructions::keeper::reduce_before_close::handle_reduce_before_close(ctx)
    }

    /// Auto-deleverage: close up to `size` of a winning position at the oracle price while
    /// traders' unrealised profit exceeds the pool's ceiling (permissionless; remaining
    /// accounts: every active market's oracle).
    pub fn deleverage<'info>(ctx: Context<'info, Deleverage<'info>>, size: u64) -> Result<()> {
        instructions::keeper::deleverage::handle_deleverage(ctx, size)
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

    /// Name the next risk publisher (pool authority; step one of two).
    pub fn propose_risk_publisher(
        ctx: Context<ProposeRiskPublisher>,
        publisher: Pubkey,
    ) -> Result<()> {
        instructions::risk::replace_publisher::handle_propose_risk_publisher(ctx, publisher)
    }

    /// The proposed risk publisher takes over (step two).
    pub fn accept_risk_publisher(ctx: Context<AcceptRiskPublisher>) -> Result<()> {
        instructions::risk::replace_publisher::handle_accept_risk_publisher(ctx)
    }

    /// Change the pool's Imbalance Score limit, and its premium mode while no position is open
    /// (pool authority).
    pub fn set_risk_limits(ctx: Context<SetRiskLimits>, limits: RiskLimits) -> Result<()> {
        instructions::risk::set_risk_limits::handle_set_risk_limits(ctx, limits)
    }

    /// Announce a premium mode or horizon change that takes effect after its notice (pool
    /// authority).
    pub fn propose_premium_change(
        ctx: Context<ProposePremiumChange>,
        mode: u8,
        horizon_secs: u32,
    ) -> Result<()> {
        instructions::risk::premium_change::handle_propose_premium_change(ctx, mode, horizon_secs)
    }

    /// Apply an announced premium change once due (anyone).
    pub fn apply_premium_change(ctx: Context<ApplyPremiumChange>) -> Result<()> {
        instructions::risk::premium_change::handle_apply_premium_change(ctx)
    }

    /// Withdraw an announced premium change (pool authority).
    pub fn cancel_premium_change(ctx: Context<CancelPremiumChange>) -> Result<()> {
        instructions::risk::premium_change::handle_cancel_premium_change(ctx)
    }

    /// Bound the risk publisher beyond one commit's step: the interval between commits, the
    /// total change over a rolling window, a σ range per market (pool authority).
    pub fn set_risk_bounds(ctx: Context<SetRiskBounds>, bounds: RiskBoundsArgs) -> Result<()> {
        instructions::risk::set_risk_bounds::handle_set_risk_bounds(ctx, bounds)
    }
}
