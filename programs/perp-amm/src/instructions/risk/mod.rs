pub mod commit_risk;
pub mod init_risk_model;
pub mod premium_change;
pub mod replace_publisher;
pub mod set_risk_bounds;
pub mod set_risk_limits;
pub mod stage_risk;

pub use commit_risk::*;
pub use init_risk_model::*;
pub use premium_change::*;
pub use replace_publisher::*;
pub use set_risk_bounds::*;
pub use set_risk_limits::*;
pub use stage_risk::*;
