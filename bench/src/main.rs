//! Compute-unit benchmark and SBF smoke scenario for perp-amm and collateral-pool.
//!
//!     bash bench/run.sh        # SBF build (../shared/tools/sbf) + this binary
//!
//! Loads `target/deploy/perp_amm.so` (an SBPF v3 ELF) into litesvm 0.16 and drives a realistic
//! flow through every instruction, with 1, 10, 16 and 32 active markets (each with open
//! interest, so LP valuation prices every one). Each measured transaction holds only the
//! instruction itself; the table is instruction, scenario, CU consumed and the budget.
//! Token CPIs run through litesvm's p-token (a transfer costs ~76 CU; classic SPL Token ~4.5k).
//!
//! The flow doubles as the smoke test of the SBF build: any unexpected failure, or a vault that
//! does not equal the pool's accounting at the end, exits non-zero.
//!
//! This file holds the arguments and the run order; `harness` sends and measures, `scenario`
//! holds the two programs' flows, `kernel` the math-kernel costing, `table` the printed output,
//! `params` the market and collateral-pool parameters.

mod harness;
mod kernel;
mod params;
mod scenario;
mod table;

use harness::Bench;

/// The `n`th command-line argument, or `default`.
fn arg(n: usize, default: &str) -> String {
    std::env::args().nth(n).unwrap_or_else(|| default.into())
}

fn main() {
    let so_path = arg(1, "target/deploy/perp_amm.so");
    let so = std::fs::read(&so_path)
        .unwrap_or_else(|e| panic!("{so_path}: {e} (build it first: bash bench/run.sh)"));
    let math_path = arg(2, "target/deploy/math_bench.so");
    if let Ok(math_so) = std::fs::read(&math_path) {
        table::print_kernel_header();
        table::print_kernel_rows(&kernel::kernels(&math_so));
    } else {
        eprintln!("{math_path} not found: skipping the kernel table (bash bench/run.sh builds it)");
    }
    if std::env::var_os("KEEL_BENCH_KERNELS_ONLY").is_some() {
        return;
    }
    let mut b = Bench::new(&so);
    for (i, n) in [1u8, 10, 16, 32].into_iter().enumerate() {
        scenario::perp::run(&mut b, n, i as u64);
    }
    let crp_path = arg(3, "target/deploy/collateral_pool.so");
    let crp_rows = match std::fs::read(&crp_path) {
        Ok(crp_so) => scenario::crp::run(&mut b, &crp_so),
        Err(e) => {
            b.failures
                .push(format!("{crp_path}: {e} (bash bench/run.sh builds it)"));
            vec![]
        }
    };
    table::print_instruction_tables(&b.rows, &crp_rows);
    if !table::print_smoke(&b.failures) {
        std::process::exit(1);
    }
}
