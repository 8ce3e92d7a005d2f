pub mod add_market;
pub mod init_pool;
pub mod market_change;
pub mod push_oracle;
pub mod set_pause;
pub mod set_request_params;
pub mod transfer_authority;
pub mod update_market;

pub use add_market::*;
pub use init_pool::*;
pub use market_change::*;
pub use push_oracle::*;
pub use set_pause::*;
pub use set_request_params::*;
pub use transfer_authority::*;
pub use update_market::*;
