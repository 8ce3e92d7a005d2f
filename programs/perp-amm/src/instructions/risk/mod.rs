pub mod commit_risk;
pub mod init_risk_model;
pub mod stage_risk;

pub use commit_risk::*;
pub use init_risk_model::*;
pub use stage_risk::*;
