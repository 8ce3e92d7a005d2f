#!/usr/bin/env bash
# Start Keel's local node: build the programs to SBF ELFs (../shared/tools/sbf, as the bench
# does) and the node (surfpool 1.6.1, its own workspace; cold ~11 min on 2 cores beside the
# bench's dependencies, seconds afterwards), then serve JSON-RPC on 127.0.0.1:${PORT:-8899}
# and websockets on ${WS_PORT:-8900}, offline, with perp_amm and collateral_pool loaded at
# their ids. Arguments go to the node (e.g. --fund PUBKEY). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
SBF_TOOLS="${SBF_TOOLS:-../shared/tools/sbf}"
bash "$SBF_TOOLS/setup.sh" >&2
bash "$SBF_TOOLS/build.sh" programs/perp-amm >&2
bash "$SBF_TOOLS/build.sh" programs/collateral-pool >&2
export CARGO_TARGET_DIR="${KEEL_NODE_TARGET_DIR:-$HOME/.cache/keel/bench-target}"
cargo build --release --locked --manifest-path localnet/Cargo.toml >&2
exec "$CARGO_TARGET_DIR/release/keel-localnet" --port "${PORT:-8899}" --ws-port "${WS_PORT:-8900}" \
    --deploy target/deploy "$@"
