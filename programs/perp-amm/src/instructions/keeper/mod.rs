pub mod deleverage;
pub mod liquidate;
pub mod reduce_before_close;
pub mod refresh_imbalance;
pub mod update_funding;

pub use deleverage::*;
pub use liquidate::*;
pub use reduce_before_close::*;
pub use refresh_imbalance::*;
pub use update_funding::*;
