//! The studies behind the README's figures, run on real price data: `keel study imbalance`
//! (`imbalance.rs`), `keel study crp` (`crp.rs`) and `keel stress` (`stress.rs`). They import
//! only the estimation layer (`crate::risk`) and keel-math.

pub mod crp;
pub mod imbalance;
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
}
