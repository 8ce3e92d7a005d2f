#!/usr/bin/env bash
# End to end over JSON-RPC (issue #21): the local node (localnet/run.sh) on a free port with two
# fresh funded keys (the operator, who also trades, lends and borrows here, and a keeper of its
# own), then every `keel` command that reaches a cluster, through its RPC transport:
#   migrate localnet.toml; an LP's first deposit (its LP-token account made by the command);
#   a quote; market, limit, take-profit and stop-loss orders, listed and one cancelled; keeper
#   rounds executing them on fresh prints, funding and refreshing the Imbalance Score; status and
#   crp status read back, the vault equal to the accounting; refusals reported by the program's
#   error name with a non-zero exit and nothing changed (an open its quote refuses off chain, a
#   loan the program refuses over RPC) and one at execution read from the return data; a price
#   move and the keeper's liquidation; an LP withdrawal after its day's delay, the node's clock moved on
#   (surfnet_timeTravel); risk bounds, a risk publication by command and one by the keeper;
#   a crp's lend, borrow and swap, its rebalance a day later, its settlement at expiry and both
#   sides' redemptions into accounts the command makes; a blockhash left to expire and the
#   transport's resend (app/tests/rpc_node.rs); a node that is down said plainly.
# The node is always stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
WORK=$(mktemp -d)
NODE_PID=
LOOP=
cleanup() {
    [ -n "$LOOP" ] && kill "$LOOP" 2>/dev/null || true
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "e2e FAILED: $*" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keel/target}"
# the debug build: the README's test command has built it already
cargo build --locked -p keel >&2
cargo test --locked -p keel --test rpc_node --no-run >&2
KEEL="$CARGO_TARGET_DIR/debug/keel"
# the SBF programs and the node first (cold, minutes): the ports are picked just before the start
bash localnet/run.sh --help > /dev/null

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

# 100 ms slots: a blockhash expires in 15 s rather than 60 for the resend test
PORT=$PORT WS_PORT=$WS_PORT bash localnet/run.sh --fund "$(cat "$WORK/id.pub")" \
    --fund "$(cat "$WORK/keeper.pub")" --slot-ms 100 > "$WORK/node.out" 2> "$WORK/node.err" &
NODE_PID=$!
for _ in $(seq 1 120); do
    grep -q '^ready' "$WORK/node.out" 2>/dev/null && break
    kill -0 "$NODE_PID" 2>/dev/null || { tail -20 "$WORK/node.err" >&2; fail "the node stopped"; }
    sleep 1
done
grep -q '^ready' "$WORK/node.out" || fail "the node did not start"
echo "== node: $(cat "$WORK/node.out")"

# the shipped file with this node's URL, and the crp's expiry ~200 days on (the shipped date
# would pass one day; the script moves the clock past it)
EXPIRY_DATE=$(date -u -d "@$(( $(date +%s) + 200 * 86400 ))" +%F)
sed -e "s|^url = .*|url = \"$URL\"|" -e "s|^expiry = .*|expiry = \"$EXPIRY_DATE\"|" \
    migrations/localnet.toml > "$WORK/localnet.toml"
echo "== migrate"
"$KEEL" migrate "${C[@]}" --config "$WORK/localnet.toml" | tee "$WORK/migrate.out"
grep -q 'calendar .* created' "$WORK/migrate.out" || fail "no calendar"
POOL=$(awk '/^  pool 0 /{print $3}' "$WORK/migrate.out")
CRP=$(awk '/^  collateral pool /{print $(NF-1)}' "$WORK/migrate.out")
[ -n "$POOL" ] && [ -n "$CRP" ] || fail "no pool in the migration's report"
grep -q ': 24 transactions$' "$WORK/migrate.out" || fail "the migration's transactions"
echo "== migrate again: everything exists, nothing is sent"
"$KEEL" migrate "${C[@]}" --config "$WORK/localnet.toml" > "$WORK/migrate2.out"
grep -q ': 0 transactions$' "$WORK/migrate2.out" || { cat "$WORK/migrate2.out"; fail "a second run sent"; }

BTC=65000
ETH=3000
# every market, open or not: an LP request is valued on fresh prints of every open market, and
# which are open depends on the day the script runs (a closed market's print is kept, unused)
push() {
    "$KEEL" oracle push "${C[@]}" --pool "$POOL" --price BTC-PERP=$BTC --price ETH-PERP=$ETH \
        --price SOL-PERP=150 --price XRP-PERP=0.6 --price BNB-PERP=550 --price EUR-PERP=1.08 \
        --price GBP-PERP=1.27 --price JPY-PERP=0.0067 --price XAU-PERP=2300 \
        --price WTI-PERP=80 > /dev/null
}
# the node's clock (the Clock sysvar's unix_timestamp), and a jump forward to unix time $1
rpc() {
    curl -sf -X POST -H 'content-type: application/json' -d "$1" "$URL"
}
node_time() {
    rpc '{"jsonrpc":"2.0","id":1,"method":"getAccountInfo","params":["SysvarC1ock11111111111111111111111111111111",{"encoding":"base64"}]}' \
        | python3 -c 'import sys, json, base64, struct
d = base64.b64decode(json.load(sys.stdin)["result"]["value"]["data"][0])
print(struct.unpack_from("<q", d, 32)[0])'
}
travel_to() {
    local reply now
    reply=$(rpc "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"surfnet_timeTravel\",\"params\":[{\"absoluteTimestamp\":$(( $1 * 1000 ))}]}") \
        || fail "surfnet_timeTravel: no answer"
    case "$reply" in *'"error"'*) fail "surfnet_timeTravel: $reply" ;; esac
    now=$(node_time) || fail "the node's clock"
    [ "$now" -ge "$1" ] && [ "$now" -lt $(( $1 + 60 )) ] || fail "the clock is at $now after a jump to $1"
    echo "   (the node's clock moved to $now, $(date -u -d "@$now" '+%F %T') UTC)"
}
# until the node's clock has passed its reading now (its seconds are slots times the slot time,
# slower than the wall's under load)
clock_moves_on() {
    local t0
    t0=$(node_time) || fail "the node's clock"
    for _ in $(seq 1 100); do
        [ "$(node_time)" -gt "$t0" ] && return 0
        sleep 0.2
    done
    fail "the node's clock stands still"
}
# what a request may change, as JSON: `status` less what moves with the clock alone (the pool's
# value, each market's hours and next change), or `crp status` less its weight on the ramp
pool_state() {
    "$KEEL" status "${C[@]}" --pool "$POOL" --json | python3 -c 'import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in ("pool_value", "hours", "next_change")}
    return [strip(x) for x in v] if isinstance(v, list) else v
print(json.dumps(strip(json.load(sys.stdin)), sort_keys=True))'
}
crp_state() {
    "$KEEL" crp status "${C[@]}" --crp "$CRP" --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
d.pop("risky_weight")
print(json.dumps(d, sort_keys=True))'
}
# a line of `status` for a market: its long OI
long_oi() { awk -v m="$1" '$1 == m {print $3}' "$2"; }
MARKETS=BTC-USD,ETH-USD,SOL-USD,XRP-USD,BNB-USD,EUR-USD,GBP-USD,1/USD-JPY,GC-F,WTI
# price files for a risk publication: each instrument's last 61 real closes (read from
# ../shared/data/prices, never copied into the project) re-dated to end on $2, into $1
risk_files() {
    python3 - "$1" "$2" "$ROOT/../shared/data/prices" <<'PY'
import datetime, os, sys
out, end, src = sys.argv[1], datetime.date.fromisoformat(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
for name in ("BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "BNB-USD", "EUR-USD", "GBP-USD",
             "USD-JPY", "GC-F", "WTI"):
    closes = [l.split(",")[1].strip() for l in open(f"{src}/{name}.csv").read().split("\n")[1:] if l]
    closes = closes[-61:]
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("date,close\n")
        for k, c in enumerate(closes):
            f.write(f"{end - datetime.timedelta(days=len(closes) - 1 - k)},{c}\n")
PY
}

# one keeper round after a fresh print of every market. A keeper key of its own, as a real
# keeper is; `op_round` is the operator's (the crp's named keeper and the risk publisher),
# with its crp and any further arguments.
round() {
    # a request executes on a print published after it: the node's clock must have moved on
    clock_moves_on
    push
    "$KEEL" keeper run --url "$URL" --keypair "$WORK/keeper.json" --pool "$POOL" \
        --rounds 1 --interval 0 2>&1 | tee -a "$WORK/keeper.out"
}
op_round() {
    clock_moves_on
    push
    "$KEEL" keeper run "${C[@]}" --pool "$POOL" --crp "$CRP" --rounds 1 --interval 0 "$@" 2>&1 \
        | tee -a "$WORK/keeper.out"
}
# a round's requests: $1 executed and none refused (the keeper reads each outcome from the
# transaction's return data, which it reads back over RPC)
executed() { grep -q "requests: $1 executed, 0 refused" "$2" || { cat "$2"; fail "$3"; }; }

echo "== a first-time LP deposits (no LP-token account yet)"
"$KEEL" lp deposit "${C[@]}" --pool "$POOL" --amount 1000000
round > "$WORK/r1.out" || true
executed 1 "$WORK/r1.out" "the deposit was not executed"

echo "== a quote, then a trader opens 1 BTC long at market"
"$KEEL" quote "${C[@]}" --pool "$POOL" --market BTC-PERP --size 1 --collateral 6500 \
    | tee "$WORK/quote.out"
grep -q 'premium\|rebate' "$WORK/quote.out" || fail "the quote"
"$KEEL" trade open "${C[@]}" --pool "$POOL" --market BTC-PERP --size 1 --collateral 6500
round > "$WORK/r2.out" || true
executed 1 "$WORK/r2.out" "the open was not executed"

echo "== status"
"$KEEL" status "${C[@]}" --pool "$POOL" | tee "$WORK/status.out"
grep -q 'LP capital 1000[0-9]*\.' "$WORK/status.out" || fail "LP capital"
grep -q '(equals the accounting)' "$WORK/status.out" || fail "the vault is not the accounting"
grep -Eq '^BTC-PERP +65000\.0000 +1\.0000' "$WORK/status.out" || fail "the BTC long"
grep -Eq '^Imbalance Score [0-9.]+ ' "$WORK/status.out" || fail "no Imbalance Score"
"$KEEL" crp status "${C[@]}" --crp "$CRP" | head -3

echo "== a refused open (100x on ETH, whose limit is 25x): its error by name, a non-zero exit"
BEFORE=$(pool_state)
if "$KEEL" trade open "${C[@]}" --pool "$POOL" --market ETH-PERP --size 1 --collateral 30 \
    > "$WORK/refused.out" 2>&1; then
    fail "a refused open exited 0"
fi
grep -q 'MaxLeverage' "$WORK/refused.out" || { cat "$WORK/refused.out"; fail "no error name"; }
[ "$(pool_state)" = "$BEFORE" ] || fail "a refused open changed the pool"

echo "== orders: a limit open of 2 ETH at 2,900 waits while ETH is 3,000"
"$KEEL" trade open "${C[@]}" --pool "$POOL" --market ETH-PERP --size 2 --collateral 1200 \
    --limit 2900
round > "$WORK/o1.out"
executed 0 "$WORK/o1.out" "the limit executed above its price"
# the BTC long's market now has open interest: the round funded it
grep -q 'funding on 1 markets' "$WORK/o1.out" || fail "no funding"
"$KEEL" orders list "${C[@]}" --pool "$POOL" | tee "$WORK/orders1.out"
grep -q '^1 pending' "$WORK/orders1.out" || fail "orders list"
grep -Eq 'limit increase +ETH-PERP' "$WORK/orders1.out" || fail "the limit is not listed"
echo "   ETH at 2,890: the limit fills"
ETH=2890
round > "$WORK/o2.out"
executed 1 "$WORK/o2.out" "the limit did not execute"

echo "== increase by 1 ETH, then decrease by 1, at market"
"$KEEL" trade increase "${C[@]}" --pool "$POOL" --market ETH-PERP --size 1 --collateral 600
round > "$WORK/o3.out"
executed 1 "$WORK/o3.out" "the increase"
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/s-eth3.out"
[ "$(long_oi ETH-PERP "$WORK/s-eth3.out")" = "3.0000" ] || fail "ETH long OI after the increase"
"$KEEL" trade decrease "${C[@]}" --pool "$POOL" --market ETH-PERP --size 1
round > "$WORK/o4.out"
executed 1 "$WORK/o4.out" "the decrease"

echo "== a take-profit (1 ETH at 3,100), a stop-loss (the rest at 2,700), a far SOL limit cancelled"
"$KEEL" trade decrease "${C[@]}" --pool "$POOL" --market ETH-PERP --size 1 --take-profit 3100
"$KEEL" trade close "${C[@]}" --pool "$POOL" --market ETH-PERP --stop-loss 2700
"$KEEL" trade open "${C[@]}" --pool "$POOL" --market SOL-PERP --size 10 --collateral 300 \
    --limit 100
"$KEEL" orders list "${C[@]}" --pool "$POOL" | tee "$WORK/orders2.out"
grep -q '^3 pending' "$WORK/orders2.out" || fail "three orders"
# every owner's, as JSON: the same three (the keeper has none)
ALL=$("$KEEL" orders list "${C[@]}" --pool "$POOL" --all --json \
    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["orders"]))')
[ "$ALL" = 3 ] || fail "orders list --all: $ALL"
SOL_SLOT=$(awk '$3 == "limit" && $5 == "SOL-PERP" {print $2}' "$WORK/orders2.out")
[ -n "$SOL_SLOT" ] || fail "no SOL limit listed"
"$KEEL" orders cancel "${C[@]}" --pool "$POOL" --slot "$SOL_SLOT"
"$KEEL" orders list "${C[@]}" --pool "$POOL" > "$WORK/orders3.out"
grep -q '^2 pending' "$WORK/orders3.out" || fail "the cancelled order is still there"
grep -q 'SOL-PERP' "$WORK/orders3.out" && fail "the SOL limit is still listed"
round > "$WORK/o5.out"
executed 0 "$WORK/o5.out" "a trigger fired at 2,890"
echo "   ETH at 3,150: the take-profit"
ETH=3150
round > "$WORK/o6.out"
executed 1 "$WORK/o6.out" "the take-profit"
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/s-eth1.out"
[ "$(long_oi ETH-PERP "$WORK/s-eth1.out")" = "1.0000" ] || fail "ETH long OI after the take-profit"
echo "   ETH at 2,650: the stop-loss"
ETH=2650
round > "$WORK/o7.out"
executed 1 "$WORK/o7.out" "the stop-loss"
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/s-eth0.out"
[ "$(long_oi ETH-PERP "$WORK/s-eth0.out")" = "0.0000" ] || fail "ETH is still open"
grep -q '(equals the accounting)' "$WORK/s-eth0.out" || fail "the vault is not the accounting"
echo "   a market open bounded 50 bps from its quote, ETH 2 % higher when the keeper comes: refused at"
echo "   execution, which the keeper reads from the transaction's return data over RPC"
"$KEEL" trade open "${C[@]}" --pool "$POOL" --market ETH-PERP --size 1 --collateral 600
ETH=2703
round > "$WORK/o8.out"
grep -q 'requests: 0 executed, 1 refused' "$WORK/o8.out" || { cat "$WORK/o8.out"; fail "the refusal"; }
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/s-eth0b.out"
[ "$(long_oi ETH-PERP "$WORK/s-eth0b.out")" = "0.0000" ] || fail "a refused open opened"
grep -q '(equals the accounting)' "$WORK/s-eth0b.out" || fail "the vault is not the accounting"

echo "== BTC falls 11 %: the keeper liquidates the 10x long"
BTC=58000
round > "$WORK/liq.out"
grep -q '1 liquidated' "$WORK/liq.out" || fail "no liquidation"
"$KEEL" status "${C[@]}" --pool "$POOL" | tee "$WORK/status3.out" | head -3
grep -q '(equals the accounting)' "$WORK/status3.out" || fail "the vault is not the accounting"
grep -Eq '^BTC-PERP +58000\.0000 +0\.0000' "$WORK/status3.out" || fail "the long is still open"

echo "== a trader who waits (--wait): a keeper loop runs beside it, the command follows its request"
keeper_loop() { for _ in 1 2 3 4 5 6; do round > /dev/null 2>&1 || true; done; }
keeper_loop &
LOOP=$!
"$KEEL" trade open "${C[@]}" --pool "$POOL" --market SOL-PERP --size 10 --collateral 300 --wait \
    --wait-secs 40 | tee "$WORK/wait1.out"
wait $LOOP
LOOP=
grep -q '^executed market increase request' "$WORK/wait1.out" || fail "the waited open"
grep -q '^position after execution: size 1000000000,' "$WORK/wait1.out" || fail "the waited position"
keeper_loop &
LOOP=$!
"$KEEL" trade close "${C[@]}" --pool "$POOL" --market SOL-PERP --wait --wait-secs 40 \
    | tee "$WORK/wait2.out"
wait $LOOP
LOOP=
grep -q '^executed market reduce request' "$WORK/wait2.out" || fail "the waited close"
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/s-sol.out"
[ "$(long_oi SOL-PERP "$WORK/s-sol.out")" = "0.0000" ] || fail "SOL is still open"

echo "== a crp: the operator lends 200,000, borrows 60,000 on 2 BTC, swaps 50 for BTC"
"$KEEL" crp lend "${C[@]}" --crp "$CRP" --amount 200000 | tee "$WORK/lend.out"
grep -q 'claims +200000000000' "$WORK/lend.out" || fail "lend"
"$KEEL" crp borrow "${C[@]}" --crp "$CRP" --collateral 2 --loan 60000 | tee "$WORK/borrow.out"
grep -q 'risky -200000000' "$WORK/borrow.out" || fail "borrow"
"$KEEL" crp swap "${C[@]}" --crp "$CRP" --sell riskless --amount 50 | tee "$WORK/swap.out"
grep -q 'riskless -50000000' "$WORK/swap.out" || fail "swap"
echo "   a loan over the pool's loan-to-value: the program refuses it (its simulation and its"
echo "   preflight over RPC), by name, a non-zero exit, nothing changed"
CRP_BEFORE=$(crp_state)
if "$KEEL" crp borrow "${C[@]}" --crp "$CRP" --collateral 1 --loan 80000 > "$WORK/ltv.out" 2>&1; then
    fail "a loan over the LTV exited 0"
fi
grep -q 'borrow refused by the program: LoanToValue' "$WORK/ltv.out" || { cat "$WORK/ltv.out"; fail "no error name"; }
[ "$(crp_state)" = "$CRP_BEFORE" ] || fail "a refused borrow changed the crp"
echo "   BTC sold for exactly 10 riskless"
"$KEEL" crp swap "${C[@]}" --crp "$CRP" --sell risky --amount 10 --exact-out | tee "$WORK/swap2.out"
grep -q 'riskless +10000000,' "$WORK/swap2.out" || fail "the exact-out swap"
"$KEEL" crp status "${C[@]}" --crp "$CRP" | tee "$WORK/crp1.out"
grep -Eq 'balances: risky (1\.99|2\.00)' "$WORK/crp1.out" || fail "the crp's risky balance"

echo "== an LP withdraws a tenth of the shares; a day later (the node's clock moved) it executes"
SHARES=$(awk '/^pool value/ {print $NF}' "$WORK/status3.out")
"$KEEL" lp withdraw "${C[@]}" --pool "$POOL" --shares $(( SHARES / 10 ))
round > "$WORK/w0.out"
executed 0 "$WORK/w0.out" "a withdrawal executed before its delay"
NOW=$(node_time) || fail "the node's clock"
T1=$(( NOW + 25 * 3600 ))
travel_to $T1
round > "$WORK/w1.out"
executed 1 "$WORK/w1.out" "the withdrawal"

echo "== risk: the authority re-sets its publisher's bounds and publishes from price files"
"$KEEL" risk bounds "${C[@]}" --pool "$POOL" --interval-secs 3600 --window-secs 604800 \
    | tee "$WORK/bounds.out"
grep -q 'a commit at most every 3600 s' "$WORK/bounds.out" || fail "risk bounds"
# as of noon of the files' last date or now, whichever is earlier: later than the migration's
risk_files "$WORK/prices-a" "$(date -u -d "@$T1" +%F)"
"$KEEL" risk publish "${C[@]}" --pool "$POOL" --prices "$WORK/prices-a" --markets "$MARKETS" \
    | tee "$WORK/publish.out"
grep -q 'published risk model revision 2' "$WORK/publish.out" || fail "risk publish"
echo "   two hours later the keeper publishes the next day's files, and re-marks IS"
travel_to $(( T1 + 2 * 3600 ))
risk_files "$WORK/prices-b" "$(date -u -d "@$(( T1 + 86400 ))" +%F)"
op_round --risk-prices "$WORK/prices-b" --risk-markets "$MARKETS" > "$WORK/k-risk.out"
grep -q 'risk: published revision 3' "$WORK/k-risk.out" || { cat "$WORK/k-risk.out"; fail "keeper risk"; }
grep -q "crp $CRP: rebalance$" "$WORK/k-risk.out" || { cat "$WORK/k-risk.out"; fail "no rebalance"; }

echo "== the crp's expiry ($EXPIRY_DATE 12:00 UTC) passes: the keeper settles, both sides redeem"
EXPIRY=$("$KEEL" crp status "${C[@]}" --crp "$CRP" --json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["expiry"])')
travel_to $(( EXPIRY + 3600 ))
op_round > "$WORK/k-settle.out"
grep -q "crp $CRP: settle$" "$WORK/k-settle.out" || { cat "$WORK/k-settle.out"; fail "no settlement"; }
"$KEEL" crp status "${C[@]}" --crp "$CRP" | tee "$WORK/crp2.out"
grep -q '(settled)' "$WORK/crp2.out" || fail "not settled"
"$KEEL" crp redeem "${C[@]}" --crp "$CRP" --claims lender | tee "$WORK/redeem1.out"
grep -q 'claims -200000000000' "$WORK/redeem1.out" || fail "the lender's redemption"
"$KEEL" crp redeem "${C[@]}" --crp "$CRP" --claims residual | tee "$WORK/redeem2.out"
grep -Eq 'risky \+[1-9]' "$WORK/redeem2.out" || fail "the borrower's redemption"
"$KEEL" status "${C[@]}" --pool "$POOL" > "$WORK/status4.out"
grep -q '(equals the accounting)' "$WORK/status4.out" || fail "the vault is not the accounting"

# every keeper round went cleanly: no transaction of a round failed
if grep -q '^  error:' "$WORK/keeper.out"; then
    grep '^  error:' "$WORK/keeper.out" >&2
    fail "a keeper round logged errors"
fi

echo "== a blockhash left to expire: the transport signs again and resends"
KEEL_NODE_URL="$URL" KEEL_NODE_KEYPAIR="$WORK/keeper.json" \
    cargo test --locked -q -p keel --test rpc_node -- --ignored > "$WORK/rpc_node.out" 2>&1 \
    || { cat "$WORK/rpc_node.out"; fail "the resend test"; }
grep 'test result' "$WORK/rpc_node.out"

echo "== a node that is down"
if "$KEEL" status --url http://127.0.0.1:1 --keypair "$WORK/id.json" --pool "$POOL" \
    > "$WORK/down.out" 2>&1; then
    fail "a node that is down exited 0"
fi
grep -q 'cannot reach the cluster' "$WORK/down.out" || { cat "$WORK/down.out"; fail "unclear"; }
grep -q 'panicked' "$WORK/down.out" && fail "a panic"

echo "e2e: ok"
