pub mod calendar;
pub mod market;
pub mod oracle;
pub mod pool;
pub mod position;
pub mod request;
pub mod risk;

pub use calendar::*;
pub use market::*;
pub use oracle::*;
pub use pool::*;
pub use position::*;
pub use request::*;
pub use risk::*;
