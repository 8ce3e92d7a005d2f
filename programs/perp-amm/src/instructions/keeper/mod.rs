pub mod liquidate;
pub mod update_funding;

pub use liquidate::*;
pub use update_funding::*;
