#!/usr/bin/env bash
# End to end over JSON-RPC (issue #21, first part): the local node (localnet/run.sh) on a free
# port with a fresh funded key, then the operator–LP–trader–keeper flow through `keel`'s RPC
# transport: migrate localnet.toml, an LP's first deposit (its LP-token account created by the
# command), a market open, keeper rounds executing both on fresh prints, status and crp status
# read back with the vault equal to the accounting, a price move and the keeper's liquidation; a refused open reported by the program's
# error name with a non-zero exit; a node that is down said plainly. The node is always stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
WORK=$(mktemp -d)
NODE_PID=
cleanup() {
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "e2e FAILED: $*" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keel/target}"
cargo build --release --locked -p keel >&2
KEEL="$CARGO_TARGET_DIR/release/keel"

# a fresh key (the node funds it) and a free port pair
python3 - "$WORK" <<'PY'
import json, socket, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as s
abc = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
for name in ("id", "keeper"):
    k = Ed25519PrivateKey.generate()
    raw = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    pub = k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    json.dump(list(raw + pub), open(f"{sys.argv[1]}/{name}.json", "w"))
    n, out = int.from_bytes(pub, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = abc[r] + out
    open(f"{sys.argv[1]}/{name}.pub", "w").write("1" * (len(pub) - len(pub.lstrip(b"\0"))) + out)
ports = []
for _ in range(2):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    ports.append(sock.getsockname()[1])
    sock.close()
open(sys.argv[1] + "/ports", "w").write(" ".join(map(str, ports)) + "\n")
PY
read -r PORT WS_PORT < "$WORK/ports"
URL="http://127.0.0.1:$PORT"
C=(--url "$URL" --keypair "$WORK/id.json")

PORT=$PORT WS_PORT=$WS_PORT bash localnet/run.sh --fund "$(cat "$WORK/id.pub")" \
    --fund "$(cat "$WORK/keeper.pub")" > "$WORK/node.out" 2> "$WORK/node.err" &
NODE_PID=$!
for _ in $(seq 1 1800); do
    grep -q '^ready' "$WORK/node.out" 2>/dev/null && break
    kill -0 "$NODE_PID" 2>/dev/null || { tail -20 "$WORK/node.err" >&2; fail "the node stopped"; }
    sleep 1
done
grep -q '^ready' "$WORK/node.out" || fail "the node did not start"
echo "== node: $(cat "$WORK/node.out")"

sed "s|^url = .*|url = \"$URL\"|" migrations/localnet.toml > "$WORK/localnet.toml"
echo "== migrate"
"$KEEL" migrate "${C[@]}" --config "$WORK/localnet.toml" | tee "$WORK/migrate.out"
grep -q 'calendar .* created' "$WORK/migrate.out" || fail "no calendar"
POOL=$(awk '/^  pool 0 /{print $3}' "$WORK/migrate.out")
CRP=$(awk '/^  collateral pool /{print $(NF-1)}' "$WORK/migrate.out")
[ -n "$POOL" ] && [ -n "$CRP" ] || fail "no pool in the migration's report"

BTC=65000
push() {
    "$KEEL" oracle push "${C[@]}" --pool "$POOL" --price BTC-PERP=$BTC --price ETH-PERP=3000 \
        --price SOL-PERP=150 --price XRP-PERP=0.6 --price BNB-PERP=550 > /dev/null
}
round() {
    # a request executes on a print published after it: the node's clock must have moved on
    sleep 2
    push
    # a keeper of its own: the operator, who trades here, liquidating itself would name its
    # quote account as both the reward's and the payout's (Anchor refuses a duplicate
    # mutable account)
    "$KEEL" keeper run --url "$URL" --keypair "$WORK/keeper.json" --pool "$POOL" --crp "$CRP" \
        --rounds 1 --interval 0 2>&1 | tee -a "$WORK/keeper.out"
}

echo "== a first-time LP deposits (no LP-token account yet)"
"$KEEL" lp deposit "${C[@]}" --pool "$POOL" --amount 1000000
round > "$WORK/r1.out" || true
grep -q '1 executed' "$WORK/r1.out" || { cat "$WORK/r1.out"; fail "the deposit was not executed"; }

echo "== a trader opens 1 BTC long"
"$KEEL" trade open "${C[@]}" --pool "$POOL" --market BTC-PERP --size 1 --collateral 6500
round > "$WORK/r2.out" || true
grep -q '1 executed' "$WORK/r2.out" || { cat "$WORK/r2.out"; fail "the open was not executed"; }

echo "== status"
"$KEEL" status "${C[@]}" --pool "$POOL" | tee "$WORK/status.out"
grep -q 'LP capital 1000[0-9]*\.' "$WORK/status.out" || fail "LP capital"
grep -q '(equals the accounting)' "$WORK/status.out" || fail "the vault is not the accounting"
grep -Eq '^BTC-PERP +65000\.0000 +1\.0000' "$WORK/status.out" || fail "the BTC long"
"$KEEL" crp status "${C[@]}" --crp "$CRP" | head -3

echo "== a refused open (100x on ETH, whose limit is 25x): its error by name, a non-zero exit"
if "$KEEL" trade open "${C[@]}" --pool "$POOL" --market ETH-PERP --size 1 --collateral 30 \
    > "$WORK/refused.out" 2>&1; then
    fail "a refused open exited 0"
fi
grep -q 'MaxLeverage' "$WORK/refused.out" || { cat "$WORK/refused.out"; fail "no error name"; }
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/status2.out"
cmp -s <(grep -v '^pool value' "$WORK/status.out") <(grep -v '^pool value' "$WORK/status2.out") \
    || fail "a refused open changed the pool"

echo "== BTC falls 11 %: the keeper liquidates the 10x long"
BTC=58000
round > "$WORK/liq.out"; cat "$WORK/liq.out"; grep -q '1 liquidated' "$WORK/liq.out" || fail "no liquidation"
"$KEEL" status "${C[@]}" --pool "$POOL" | tee "$WORK/status3.out" | head -3
grep -q '(equals the accounting)' "$WORK/status3.out" || fail "the vault is not the accounting"
grep -Eq '^BTC-PERP +58000\.0000 +0\.0000' "$WORK/status3.out" || fail "the long is still open"

echo "== a node that is down"
if "$KEEL" status --url http://127.0.0.1:1 --keypair "$WORK/id.json" --pool "$POOL" \
    > "$WORK/down.out" 2>&1; then
    fail "a node that is down exited 0"
fi
grep -q 'cannot reach the cluster' "$WORK/down.out" || { cat "$WORK/down.out"; fail "unclear"; }
grep -q 'panicked' "$WORK/down.out" && fail "a panic"

echo "e2e: ok"
