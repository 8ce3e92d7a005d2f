pub mod accounts;
pub mod close_position;
pub mod collateral;
pub mod decrease_position;
pub mod increase_position;
pub mod open_position;

pub use accounts::*;
pub use close_position::*;
pub use collateral::*;
pub use decrease_position::*;
pub use increase_position::*;
pub use open_position::*;
