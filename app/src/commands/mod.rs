//! The commands, one file per family. Each acts through any [`crate::transport::Transport`]:
//! the binary connects to a cluster (`transport::connect`), the tests and the sandbox pass the
//! embedded runtime. Commands import the client, the transport and the estimation layer
//! (`crate::risk`), and each other only downward in this order: `calc`; `perp` (its `PoolArg`
//! names a pool for the others); `crp`, `oracle`; `risk`; `keeper`, `migrate` (the last two
//! publish through `risk`). `app/scripts/layers.py` checks it.

pub mod calc;
#[cfg(feature = "embedded")]
pub mod crp;
#[cfg(feature = "embedded")]
pub mod keeper;
#[cfg(feature = "embedded")]
pub mod migrate;
#[cfg(feature = "embedded")]
pub mod oracle;
#[cfg(feature = "embedded")]
pub mod perp;
pub mod risk;
