pub mod deposit;
pub mod fund_default_fund;
pub mod withdraw;

pub use deposit::*;
pub use fund_default_fund::*;
pub use withdraw::*;
