//! The studies behind the README's figures: `keel study imbalance` (`imbalance.rs`) and
//! `keel study crp` (`crp.rs`) on real price data, `keel study premium` (`premium.rs`, D8X's
//! Figure 1) and `keel stress` (`stress.rs`). They import only the estimation layer
//! (`crate::risk`) and keel-math.

pub mod crp;
pub mod imbalance;
pub mod premium;
pub mod stress;

#[derive(clap::Args, Debug)]
pub struct StudyArgs {
    #[command(subcommand)]
    pub study: Study,
}

#[derive(clap::Subcommand, Debug)]
pub enum Study {
    /// Ostium's Imbalance Score simulation on real σ and R: histograms, IS against ||K||, R²
    Imbalance(imbalance::ImbalanceArgs),
    /// The collateral rebalancing pool over 3-month BTC paths: weight against delta, value
    /// against single-asset collateral, when the flight to quality triggers
    Crp(crp::CrpArgs),
    /// D8X's Figure 1: the exact insurance value (closed form and Monte Carlo) against the
    /// digital option over κs/M, with Keel's charge beside them; crossing trades and a
    /// portfolio hedge
    Premium(premium::PremiumArgs),
}
