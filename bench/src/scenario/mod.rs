//! The two programs' flows, each a sequence of named phases in the order their
//! transactions are sent.

pub mod crp;
pub mod perp;
