//! Compute-unit harness for the math kernels: `run` evaluates one kernel on the given inputs, so
//! the CU of a kernel is the CU of its transaction minus that of [`Kernel::Noop`]. Inputs are the
//! kernels' own raw representations (keel-math: Fix/Prob bits; solmath: 1e12-scaled integers).
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;
use keel_math::d8x::{Exposure, default_probability};
use keel_math::{Fix, Prob};

declare_id!("vBNG421Tt3ybN3o2dZo12HwU34R7uFL81SGg6ufhA8V");

/// Which kernel to run. Append-only.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Noop,
    Exp,
    Ln,
    Pow,
    Sqrt,
    NormCdf,
    NormInv,
    BsDelta,
    D8xQ,
    WeightedOut,
    Imbalance,
    SolExp,
    SolLn,
    SolPow,
    SolSqrt,
    SolNormCdf,
    SolNormInv,
    SolBsDelta,
    /// The integer book the program keeps: T = Kᵀ R K afresh, IS and ||K|| (a rebuild).
    ImbalanceBook,
    /// Profiling primitives: a Q64.64 product (256-bit intermediate), a plain u128 product
    /// (`__multi3` on SBF), and the high word of a 64×64 product from 32-bit limbs.
    MulQ64,
    MulU128,
    MulHiLimbs,
    /// Reads one argument and does nothing else: the harness's own cost inside every row.
    ArgOnly,
    /// The insurance value a fill's charge is the change of (issue #19): a market's book as a
    /// Black–Scholes call or put (notional, headroom, σ), and the pool's as a Bachelier call
    /// (capital, spread). A fill evaluates two.
    LognormalBookValue,
    GaussianBookValue,
    /// Market hours (issue #20): whether a schedule in New York time is open at a Unix time,
    /// with `n` sessions (1: FX's week; 5: CME's days with their hour's break) and no holiday;
    /// and the gap allowance a closed market's last price moves by.
    MarketOpen,
    GapAllowance,
    /// How long FX (New York) has been closed at a Unix time, with one holiday (args: time,
    /// holiday start, holiday end): what an LP valuation computes per closed schedule.
    ClosedSince,
    /// Whether FX (one holiday, as above) is within the hour before a long close: what every
    /// open or increase on a scheduled market computes, and `reduce_before_close`.
    LongCloseAhead,
}

/// High 64 bits of a 64×64-bit product from four 32×32 products: what a kernel could use on SBF
/// instead of a u128 multiply.
#[inline(never)]
fn mul_hi_limbs(a: u64, b: u64) -> u64 {
    let (a1, a0) = (a >> 32, a & 0xffff_ffff);
    let (b1, b0) = (b >> 32, b & 0xffff_ffff);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 32) + (p01 & 0xffff_ffff) + (p10 & 0xffff_ffff);
    p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32)
}

#[derive(Accounts)]
pub struct Run {}

#[program]
pub mod math_bench {
    use super::*;

    /// Evaluate `kernel` on `args` (meaning depends on the kernel); fails if the kernel does.
    pub fn run(_ctx: Context<Run>, kernel: Kernel, args: Vec<i128>) -> Result<()> {
        let a = |i: usize| args.get(i).copied().unwrap_or(0);
        let fx = |i: usize| Fix::from_bits(a(i));
        let ok = match kernel {
            Kernel::Noop => true,
            Kernel::Exp => keel_math::exp(fx(0)).is_ok(),
            Kernel::Ln => keel_math::ln(fx(0)).is_ok(),
            Kernel::Pow => keel_math::pow(fx(0), fx(1)).is_ok(),
            Kernel::Sqrt => keel_math::sqrt(fx(0)).is_ok(),
            Kernel::NormCdf => keel_math::norm_cdf(fx(0)).is_ok(),
            Kernel::NormInv => keel_math::norm_inv(Prob::from_bits(a(0) as u128)).is_ok(),
            Kernel::BsDelta => keel_math::call_delta(fx(0), fx(1), fx(2), fx(3)).is_ok(),
            Kernel::D8xQ => {
                let e = Exposure {
                    net_position: fx(0),
                    locked_value: fx(1),
                    capital: fx(2),
                };
                default_probability(&e, fx(3), fx(4)).is_ok()
            }
            Kernel::WeightedOut => keel_math::weighted::out_given_in(
                a(0) as u64,
                fx(1),
                a(2) as u64,
                fx(3),
                a(4) as u64,
            )
            .is_ok(),
            Kernel::Imbalance => {
                // args: n, then n exposures B (Fix bits); σ = 0.03 each; ρ = 0.5 everywhere
                let n = a(0) as usize;
                let b: Vec<Fix> = (0..n).map(|i| fx(1 + i)).collect();
                let sigma = vec![Fix::from_bits(553_402_322_211_286_548); n];
                let upper = vec![500_000_000i32; keel_math::imbalance::upper_len(n)];
                keel_math::imbalance_score(&b, &sigma, &upper).is_ok()
            }
            Kernel::SolExp => solmath::exp_fixed_i(a(0)).is_ok(),
            Kernel::SolLn => solmath::ln_fixed_i(a(0) as u128).is_ok(),
            Kernel::SolPow => solmath::pow_fixed(a(0) as u128, a(1) as u128).is_ok(),
            Kernel::SolSqrt => solmath::fp_sqrt(a(0) as u128).is_ok(),
            Kernel::SolNormCdf => solmath::norm_cdf_poly(a(0)).is_ok(),
            Kernel::SolNormInv => solmath::inverse_norm_cdf(a(0)).is_ok(),
            Kernel::MulQ64 => {
                keel_math::wide::mul_q64(a(0), a(1), keel_math::Rounding::Nearest).is_ok()
            }
            Kernel::MulU128 => {
                core::hint::black_box((a(0) as u128).wrapping_mul(a(1) as u128)) != 1
            }
            Kernel::MulHiLimbs => {
                core::hint::black_box(mul_hi_limbs(a(0) as u64, a(1) as u64)) != 1
            }
            Kernel::ArgOnly => core::hint::black_box(fx(0)) != Fix::ONE,
            Kernel::LognormalBookValue => {
                keel_math::insurance::lognormal_book_value(fx(0), fx(1), fx(2)).is_ok()
            }
            Kernel::GaussianBookValue => {
                keel_math::insurance::gaussian_book_value(fx(0), fx(1)).is_ok()
            }
            Kernel::MarketOpen => {
                // args: session count (1 or 5), Unix time
                use keel_math::calendar::{MINUTES_PER_DAY as D, Session, is_open, zone};
                let sessions: [Session; 5] = core::array::from_fn(|d| {
                    let d = d as u16;
                    match a(0) {
                        1 => Session {
                            open: 17 * 60,
                            close: 5 * D + 17 * 60,
                        },
                        _ => Session {
                            open: d * D + 18 * 60,
                            close: (d + 1) * D + 17 * 60,
                        },
                    }
                });
                let n = if a(0) == 1 { 1 } else { 5 };
                is_open(zone::NEW_YORK, &sessions[..n], &[], a(1) as i64).is_ok()
            }
            Kernel::ClosedSince | Kernel::LongCloseAhead => {
                use keel_math::calendar::{
                    Closure, MINUTES_PER_DAY as D, Session, secs_since_close,
                    secs_until_long_close, zone,
                };
                let fx = [Session {
                    open: 17 * 60,
                    close: 5 * D + 17 * 60,
                }];
                let holiday = [Closure {
                    start: a(1) as i64,
                    end: a(2) as i64,
                }];
                let ts = a(0) as i64;
                if matches!(kernel, Kernel::ClosedSince) {
                    secs_since_close(zone::NEW_YORK, &fx, &holiday, ts).is_ok()
                } else {
                    secs_until_long_close(zone::NEW_YORK, &fx, &holiday, ts, 3_600, 7_200).is_ok()
                }
            }
            Kernel::GapAllowance => keel_math::calendar::gap_allowance(
                a(0) as u64,
                a(1) as u64,
                a(2) as u16,
                a(3) as i64,
            )
            .is_some(),
            Kernel::ImbalanceBook => {
                // args: n, then n exposures K (10^-3 quote units); ρ = 0.5 everywhere
                use keel_math::imbalance_book as book;
                let n = a(0) as usize;
                let k: Vec<i64> = (0..n).map(|i| a(1 + i) as i64).collect();
                let upper = vec![500_000_000i32; keel_math::imbalance::upper_len(n)];
                let sum: i128 = k.iter().map(|x| *x as i128 * *x as i128).sum();
                book::quadratic_form(&upper, &k)
                    .and_then(book::score)
                    .and_then(|_| book::norm(sum as u128))
                    .is_ok()
            }
            Kernel::SolBsDelta => {
                solmath::bs_delta(a(0) as u128, a(1) as u128, 0, a(2) as u128, a(3) as u128).is_ok()
            }
        };
        require!(ok, BenchError::KernelFailed);
        Ok(())
    }
}

#[error_code]
pub enum BenchError {
    #[msg("The kernel returned an error")]
    KernelFailed,
}
