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
    if [ $rc -ne 0 ]; then
        echo "--- test failed (rc=$rc); logs in $WORK:"
        for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
