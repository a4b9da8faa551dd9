# Shared helpers for integration tests: sourced by tests/integration/t-*/run.
# Every process started here is stopped by the EXIT trap; everything listens on loopback only.
set -euo pipefail

BUILD=$(cd "${1:?usage: run BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PY=/usr/bin/python3   # Debian's Python: dkimpy, aiosmtpd and dnslib live there
export PYTHONPATH="$SRC/tests/integration/lib${PYTHONPATH:+:$PYTHONPATH}"
WORK=$(mktemp -d /tmp/outpost-test.XXXXXX)
PIDS=()

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        echo "--- test failed (rc=$rc); logs in $WORK:"
        for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
    fi
    # KEEP_WORK=1 keeps the directory (logs, spool) for a look after a failure.
    [ "${KEEP_WORK:-}" = 1 ] && echo "--- kept $WORK" || rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
# skip REASON: the test cannot run here. 77 is the SKIP_RETURN_CODE of tests/CMakeLists.txt.
skip() { echo "SKIP: $*"; exit 77; }

# free_port: a loopback port free for TCP and UDP that no other test in this run was given.
free_port() { $PY "$SRC/tests/integration/helpers/free_port.py"; }

wait_port() {  # wait_port PORT [SECONDS]
    for _ in $(seq $((${2:-10} * 20))); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    fail "nothing listens on port $1"
}

make_cert() {  # self-signed certificate for localhost in $WORK
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.crt" \
        -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
    chmod 600 "$WORK/tls.key"
}

# start_outpostd CONFIG [NAME]: runs outpostd in the background, waits until it says started.
start_outpostd() {
    local config=$1 name=${2:-outpostd}
    "$BUILD/outpostd" --config "$config" >"$WORK/$name.log" 2>&1 &
    OUTPOSTD_PID=$!
    PIDS+=("$OUTPOSTD_PID")
    for _ in $(seq 200); do
        grep -q "event=started" "$WORK/$name.log" 2>/dev/null && return 0
        kill -0 "$OUTPOSTD_PID" 2>/dev/null || { cat "$WORK/$name.log"; fail "outpostd exited at start"; }
        sleep 0.05
    done
    fail "outpostd did not start"
}

stop_outpostd() {  # stop_outpostd [SIGNAL]: sends the signal and waits for the exit
    kill -"${1:-TERM}" "$OUTPOSTD_PID" 2>/dev/null || true
    for _ in $(seq 400); do kill -0 "$OUTPOSTD_PID" 2>/dev/null || return 0; sleep 0.05; done
    fail "outpostd did not stop"
}

spooled_count() { find "$1/queue" -type f 2>/dev/null | wc -l; }

# start_sink NAME ARGS...: an aiosmtpd sink (helpers/smtp_sink.py) recording into $WORK/NAME;
# sets SINK_PORT.
start_sink() {
    local name=$1
    shift
    SINK_PORT=$(free_port)
    mkdir -p "$WORK/$name"
    $PY "$SRC/tests/integration/helpers/smtp_sink.py" --port "$SINK_PORT" --out "$WORK/$name" "$@" \
        >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 200); do grep -q '^ready' "$WORK/$name.log" && return 0; sleep 0.05; done
    fail "sink $name did not start"
}

# start_dns ARGS...: dnsmasq on a loopback port answering only what ARGS say; sets DNS_PORT and
# DNS_PID.
start_dns() {
    DNS_PORT=$(free_port)
    run_dnsmasq "$@"
}

# restart_dns ARGS...: stops the dnsmasq of start_dns and starts one with ARGS on the same
# DNS_PORT (records changed under a running outpostd, whose dns_servers stay valid).
restart_dns() {
    kill -TERM "$DNS_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$DNS_PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$DNS_PID" 2>/dev/null && fail "dnsmasq did not stop"
    run_dnsmasq "$@"
}

run_dnsmasq() {  # dnsmasq with ARGS on DNS_PORT; waits until it answers
    dnsmasq --no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
        --no-resolv --no-hosts --no-dhcp-interface= --pid-file= --log-facility=- "$@" \
        >>"$WORK/dnsmasq.log" 2>&1 &
    DNS_PID=$!
    PIDS+=("$DNS_PID")
    for _ in $(seq 100); do
        dig_ok=$($PY -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
import sys
try:
    s.sendto(bytes.fromhex('12340100000100000000000007696e76616c696400000f0001'), ('127.0.0.1', $DNS_PORT)); s.recv(512); print(1)
except Exception: print(0)")
        [ "$dig_ok" = 1 ] && return 0
        kill -0 "$DNS_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.log")"
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
    local secs=$1
    shift
    for _ in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}

sink_count() { find "$WORK/$1" -name '*.json' 2>/dev/null | wc -l; }
sink_at_least() { [ "$(sink_count "$1")" -ge "$2" ]; }
spool_holds() { [ "$(spooled_count "$1")" -eq "$2" ]; }

# start_sink_at NAME ADDRESS PORT ARGS...: as start_sink, on a given loopback address and port
# (MX delivery uses one delivery.port, so several MX hosts share a port on 127.0.0.x addresses).
start_sink_at() {
    local name=$1 address=$2 port=$3
    shift 3
    mkdir -p "$WORK/$name"
    $PY "$SRC/tests/integration/helpers/smtp_sink.py" --address "$address" --port "$port" \
        --out "$WORK/$name" "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 200); do grep -q '^ready' "$WORK/$name.log" 2>/dev/null && return 0; sleep 0.05; done
    fail "sink $name did not start: $(cat "$WORK/$name.log")"
}

# start_dnslib ARGS...: helpers/dns_server.py (null MX, SERVFAIL) on a loopback port; sets
# DNSLIB_PORT. dnsmasq can forward zones to it with --server=/ZONE/127.0.0.1#$DNSLIB_PORT.
start_dnslib() {
    DNSLIB_PORT=$(free_port)
    $PY "$SRC/tests/integration/helpers/dns_server.py" --port "$DNSLIB_PORT" "$@" \
        >"$WORK/dnslib.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 200); do grep -q '^ready' "$WORK/dnslib.log" && return 0; sleep 0.05; done
    fail "dns_server.py did not start: $(cat "$WORK/dnslib.log")"
}

# Config lines that keep delivery on loopback and make every attempt defer (nothing listens on
# the next hop), for tests about intake and the spool: messages stay queued, nothing leaves.
hold_delivery_toml() {
    printf '[delivery]\nretry = ["1h"]\n[[route]]\ndomains = ["*"]\nnext_hop = "127.0.0.1:%s"\n' "$(free_port)"
}

# start_sink_cases NAME CASES_FILE ARGS...: one helpers/smtp_sink.py process serving every sink
# of CASES_FILE (lines "CASE PORT [OPTIONS...]", see --cases), each recording into
# $WORK/NAME/CASE; sets SINK_CASES_PID (stop it early with kill, the EXIT trap does the rest).
start_sink_cases() {
    local name=$1 cases=$2
    shift 2
    mkdir -p "$WORK/$name"
    $PY "$SRC/tests/integration/helpers/smtp_sink.py" --cases "$cases" --out "$WORK/$name" "$@" \
        >"$WORK/$name.log" 2>&1 &
    SINK_CASES_PID=$!
    PIDS+=("$SINK_CASES_PID")
    for _ in $(seq 200); do grep -q '^ready' "$WORK/$name.log" 2>/dev/null && return 0; sleep 0.05; done
    fail "sinks $name did not start: $(cat "$WORK/$name.log")"
}
