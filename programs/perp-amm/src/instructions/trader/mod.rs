pub mod accounts;
pub mod collateral;

pub use accounts::*;
pub use collateral::*;
