#!/usr/bin/env bash
# Build perp-amm and collateral-pool to SBF ELFs with ../shared/tools/sbf and measure every
# instruction's compute units in litesvm. First run: the SBF toolchain set-up (~5-10 min), the SBF build (~2 min) and
# the bench's own dependencies (~10 min); afterwards seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
SBF_TOOLS="${SBF_TOOLS:-../shared/tools/sbf}"
bash "$SBF_TOOLS/setup.sh"
bash "$SBF_TOOLS/build.sh" programs/perp-amm
bash "$SBF_TOOLS/build.sh" programs/collateral-pool
bash "$SBF_TOOLS/build.sh" programs/math-bench
export CARGO_TARGET_DIR="${KEEL_BENCH_TARGET_DIR:-$HOME/.cache/keel/bench-target}"
cargo run --release --locked --manifest-path bench/Cargo.toml -- target/deploy/perp_amm.so target/deploy/math_bench.so target/deploy/collateral_pool.so
