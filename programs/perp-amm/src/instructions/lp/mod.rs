pub mod fund_default_fund;

pub use fund_default_fund::*;
