//! Client library: instruction builders, PDAs and presets shared by the CLI, the tests and the
//! compute-unit benchmark.

pub mod crp;
pub mod decode;
pub mod markets;
pub mod perp;
pub mod quote;
