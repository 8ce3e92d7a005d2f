pub mod admin;
pub mod keeper;
pub mod lp;
pub mod requests;
pub mod risk;
pub mod shared;
pub mod trader;

pub use admin::*;
pub use keeper::*;
pub use lp::*;
pub use requests::*;
pub use risk::*;
pub use trader::*;
