//! Keel's numerical kernels: deterministic, float-free, `no_std`, with no Solana dependency.
//!
//! Values are [`Fix`] (I64F64: 64 integer and 64 fraction bits, resolution 5.4e-20) and
//! probabilities are [`Prob`] (U1F127: 127 fraction bits, so far-tail probabilities keep their
//! relative precision). Every function returns a [`MathResult`] and documents its rounding;
//! amounts that move tokens are integers rounded in the pool's favour.
//!
//! Accuracy is measured against mpmath references (`tests/accuracy.rs`, `scripts/`).
#![no_std]

mod error;
mod tables;

pub mod black_scholes;
pub mod calendar;
pub mod crp;
pub mod d8x;
pub mod ema;
pub mod exp;
pub mod imbalance;
pub mod imbalance_book;
pub mod insurance;
pub mod ln;
pub mod normal;
pub mod pow;
pub mod weighted;
pub mod wide;

pub use error::{MathError, MathResult};
pub use fixed;

/// Real values: I64F64, range ±9.2e18, resolution 2^-64 ≈ 5.4e-20.
pub type Fix = fixed::types::I64F64;
/// Probabilities in [0, 1]: U1F127, resolution 2^-127 ≈ 5.9e-39.
pub type Prob = fixed::types::U1F127;

pub use black_scholes::{call_delta, d1};
pub use ema::ema_update;
pub use exp::exp;
pub use imbalance::{exposure_norm, imbalance_score};
pub use ln::ln;
pub use normal::{norm_cdf, norm_inv, norm_pdf, norm_sf};
pub use pow::{pow, pow_down, pow_up, sqrt};
pub use wide::Rounding;
