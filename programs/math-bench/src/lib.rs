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
