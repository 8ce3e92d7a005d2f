//! `keel risk estimate|publish|bounds`: the risk keeper's commands, and the pool authority's
//! bounds on them (`bounds.rs`). `estimate` (`estimate.rs`) prints σ
//! and R from `date,close` files (`crate::risk`, the estimation layer) and the integers a
//! `commit_risk` would carry; `publish` (`publish.rs`) estimates and publishes them to a pool's
//! risk model, the one publication the keeper, the migrations and the sandbox's desk go through.

#[cfg(feature = "embedded")]
mod bounds;
mod estimate;
#[cfg(feature = "embedded")]
mod publish;

use clap::{Args, Subcommand};

#[cfg(feature = "embedded")]
pub use bounds::{BoundsArgs, BoundsReport, bounds_args, set_bounds};
pub use estimate::{EstimateArgs, EstimateReport, run_estimate};
#[cfg(feature = "embedded")]
pub use publish::{
    Publication, PublishArgs, publish, publish_from_prices, publish_if_newer, step_toward,
};

/// `keel risk …`: the risk keeper's commands.
#[derive(Args, Debug)]
pub struct RiskArgs {
    #[command(subcommand)]
    pub command: RiskCommand,
}

#[derive(Subcommand, Debug)]
pub enum RiskCommand {
    /// Estimate σ and R from `date,close` files, and what the program would store
    Estimate(EstimateArgs),
    /// Estimate σ and R from price files and publish them to a pool's risk model (stage, then
    /// commit), moved from the current model only as far as its step bounds allow
    #[cfg(feature = "embedded")]
    Publish {
        #[command(flatten)]
        cluster: crate::transport::ClusterArgs,
        #[command(flatten)]
        args: PublishArgs,
    },
    /// The pool authority bounds its publisher beyond one commit's step: an interval between
    /// commits, a rolling window on σ and ρ, σ ranges per market
    #[cfg(feature = "embedded")]
    Bounds {
        #[command(flatten)]
        cluster: crate::transport::ClusterArgs,
        #[command(flatten)]
        args: BoundsArgs,
    },
}
