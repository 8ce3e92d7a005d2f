//! The client layer: instruction builders and PDAs (`perp`, `crp`), account decoders
//! (`decode`), trade quotes by the program's own code (`quote`), token-account helpers
//! (`token`), the market and crp presets (`presets`), account fetching over a transport
//! (`fetch`), dates (`dates`) and error names (`errors`). Shared by the commands, the tests and
//! the compute-unit benchmark (which builds it without the `embedded` feature: `perp` and `crp`
//! must compile alone). Imports only `transport`.

pub mod crp;
pub mod dates;
pub mod decode;
pub mod errors;
#[cfg(feature = "embedded")]
pub mod fetch;
pub mod perp;
pub mod presets;
pub mod quote;
#[cfg(feature = "embedded")]
pub mod requests;
pub mod token;
