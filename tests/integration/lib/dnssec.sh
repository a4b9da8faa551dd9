# shellcheck shell=bash
# DNSSEC on loopback for integration tests (DANE, RFC 7672): sourced after common.sh.
#
#   start_dnssec_dns SIGNED_BODY [PLAIN_BODY]
#       An authoritative nsd serving $DNSSEC_ZONE (default dane.test), signed with ldns-signzone,
#       and $PLAIN_ZONE (default plain.test), unsigned; a validating unbound in front of it with
#       the signed zone's DS as its only trust anchor. The bodies are files of records in
#       zone-file syntax ($ORIGIN is the zone, $TTL 300; relative or absolute names), e.g.
#           @                          MX   10 mx.good
#           mx.good                    A    127.0.0.31
#           _2525._tcp.mx.good         TLSA 3 1 1 <hex>
#       SOA, NS and ns.<zone> A 127.0.0.1 are added (the NS only exists because a zone needs
#       one: unbound reaches nsd through stub-addr). Sets DNSSEC_PORT (unbound: what outpostd's
#       [delivery] dns_servers point at), DNSSEC_NSD_PORT, DNSSEC_DIR; both processes go into
#       PIDS. Returns once unbound answers the signed zone's SOA with AD and the plain one's.
#   restart_dnssec_dns SIGNED_BODY [PLAIN_BODY]
#       New records: re-signs with the same keys (the trust anchor stays valid) and restarts nsd
#       and unbound on the same ports (unbound's cache goes with it), so a running outpostd's
#       dns_servers stay valid.
#   dnssec_secure NAME TYPE
#       Whether unbound answers NAME TYPE with NOERROR, at least one answer and AD (asked as
#       outpostd asks: AD set, EDNS without DO). dnssec_ask PORT NAME TYPE shows the answer's
#       header.
#   DNSSEC_BOGUS="OWNER..." (set before start/restart): the records at these names in the
#       signed zone are altered after signing, so unbound answers SERVFAIL for them (bogus).
#   tlsa_3_1_1 CERT.pem: hex SHA-256 of the certificate's SubjectPublicKeyInfo (DANE-EE SPKI).
#   tlsa_2_0_1 CERT.pem: hex SHA-256 of the whole DER certificate (DANE-TA, full certificate).
#
# Skips (exit 77) if nsd, unbound, ldns-keygen or ldns-signzone is missing. Runs as root
# or as any user: nothing is written outside $WORK and neither daemon changes user.
# Names outside the two zones get NXDOMAIN from unbound at once (local-zone "." static) instead
# of unbound trying the real root servers from a test machine.

DNSSEC_ZONE=${DNSSEC_ZONE:-dane.test}
PLAIN_ZONE=${PLAIN_ZONE:-plain.test}

# nsd and unbound live in /usr/sbin, which is not on an ordinary user's PATH on Debian.
dnssec_tool() {  # dnssec_tool NAME: the path of NAME, or nothing
    PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" || true
}
NSD_BIN=$(dnssec_tool nsd)
UNBOUND_BIN=$(dnssec_tool unbound)
for _tool in nsd unbound ldns-keygen ldns-signzone; do
    [ -n "$(dnssec_tool "$_tool")" ] || skip "$_tool is not installed (Debian: nsd, unbound, ldnsutils)"
done
unset _tool

tlsa_3_1_1() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER \
        | openssl dgst -sha256 -r | cut -d' ' -f1
}
tlsa_2_0_1() {
    openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# dnssec_ask PORT NAME TYPE: one UDP query to 127.0.0.1:PORT with RD and AD set and EDNS
# (1232 bytes) without DO, as outpostd asks (RFC 6840 §5.7: AD in the query asks for AD in the
# answer, DO is not needed);
# prints e.g. "NOERROR aa=0 ad=1 tc=0 answers=1", fails after 0.3 s without an answer. drill
# is no use for polling: it ignores ICMP port unreachable and tries 3 times 5 s.
dnssec_ask() {
    $PY -c '
import socket, struct, sys
port, name, qtype = int(sys.argv[1]), sys.argv[2], sys.argv[3].upper()
types = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}
q = struct.pack(">HHHHHH", 0x4F54, 0x0120, 1, 0, 0, 1)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
q += struct.pack(">HH", types[qtype], 1)
q += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)  # OPT: payload 1232, DO clear
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
try:
    s.sendto(q, ("127.0.0.1", port))
    r = s.recv(65535)
except OSError:
    sys.exit(1)
rid, flags, _, answers = struct.unpack(">HHHH", r[:8])
if rid != 0x4F54:
    sys.exit(1)
rcode = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(flags & 15, str(flags & 15))
print(rcode, "aa=%d ad=%d tc=%d answers=%d" % (flags >> 10 & 1, flags >> 5 & 1, flags >> 9 & 1, answers))
' "$@"
}

dnssec_secure() {  # dnssec_secure NAME TYPE
    dnssec_ask "$DNSSEC_PORT" "$1" "$2" | grep -Eq '^NOERROR .*ad=1 .*answers=[1-9]'
}

dnssec_zone_file() {  # dnssec_zone_file ZONE BODY OUT: SOA, NS and the caller's records
    {
        # shellcheck disable=SC2016  # $ORIGIN and $TTL are zone-file directives, not shell
        printf '$ORIGIN %s.\n$TTL 300\n' "$1"
        # The serial only has to be valid; every restart loads the file afresh.
        printf '@ IN SOA ns.%s. hostmaster.%s. %s 3600 600 86400 60\n' "$1" "$1" "$(date +%s)"
        printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1"
        cat "$2"
    } >"$3"
}

# dnssec_sign SIGNED_BODY PLAIN_BODY: writes both zone files into DNSSEC_DIR, signing the first
# (keys made on the first call, kept afterwards).
dnssec_sign() {
    local d=$DNSSEC_DIR
    dnssec_zone_file "$DNSSEC_ZONE" "$1" "$d/$DNSSEC_ZONE.zone"
    dnssec_zone_file "$PLAIN_ZONE" "${2:-/dev/null}" "$d/$PLAIN_ZONE.zone"
    if [ ! -f "$d/ksk" ]; then
        # A KSK (SEP flag, whose DS is the trust anchor) and a ZSK, ECDSA P-256 (algorithm 13):
        # small signatures, supported by every validator. ldns-keygen writes into the cwd and
        # prints the key's base name.
        (cd "$d" && ldns-keygen -a ECDSAP256SHA256 -k "$DNSSEC_ZONE" >ksk && ldns-keygen -a ECDSAP256SHA256 "$DNSSEC_ZONE" >zsk) \
            2>>"$WORK/dnssec.log" || fail "ldns-keygen: $(cat "$WORK/dnssec.log")"
        cp "$d/$(cat "$d/ksk").ds" "$d/trust-anchor.ds"
    fi
    # Inception an hour back: signatures must not start in the future of whoever validates.
    (cd "$d" && ldns-signzone -i "$(date -u -d '-1 hour' +%Y%m%d%H%M%S)" -o "$DNSSEC_ZONE" \
        -f "$DNSSEC_ZONE.zone.signed" "$DNSSEC_ZONE.zone" "$(cat ksk)" "$(cat zsk)") \
        2>>"$WORK/dnssec.log" || fail "ldns-signzone: $(cat "$WORK/dnssec.log")"
    [ -z "${DNSSEC_BOGUS:-}" ] || dnssec_make_bogus "$d/$DNSSEC_ZONE.zone.signed"
    # nsd would only log a zone it cannot load and serve the other one: say which record.
    if [ -n "$(dnssec_tool nsd-checkzone)" ]; then
        "$(dnssec_tool nsd-checkzone)" "$PLAIN_ZONE" "$d/$PLAIN_ZONE.zone" >>"$WORK/dnssec.log" 2>&1 \
            || fail "$PLAIN_ZONE: $(tail -3 "$WORK/dnssec.log")"
    fi
}

# dnssec_make_bogus SIGNED_FILE: the records at each owner name of DNSSEC_BOGUS (other than
# RRSIG, NSEC, DNSKEY) get their last hex digit changed after signing, so their RRSIGs no longer
# verify: the validator answers SERVFAIL for them (bogus, RFC 4035 §5.5), as under an attack.
dnssec_make_bogus() {
    awk -v owners=" ${DNSSEC_BOGUS,,} " '
        BEGIN { split(owners, list, " "); for (i in list) { o = list[i]; sub(/\.?$/, ".", o); bogus[o] = 1 } }
        tolower($1) in bogus && $4 !~ /^(RRSIG|NSEC|NSEC3|DNSKEY)$/ && $NF ~ /[0-9a-fA-F]$/ {
            last = substr($NF, length($NF)); sub(/.$/, (last == "0" ? "1" : "0"), $0); hits++
        }
        { print }
        END { if (!hits) exit 1 }' "$1" >"$1.bogus" || fail "DNSSEC_BOGUS: no record at ${DNSSEC_BOGUS}"
    mv "$1.bogus" "$1"
}

dnssec_write_configs() {
    local d=$DNSSEC_DIR
    # nsd 4.6 as any user: no privilege drop, no chroot, no compiled database, and every state
    # file it would otherwise put in /var/lib/nsd or /run/nsd under $WORK.
    cat >"$d/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $DNSSEC_NSD_PORT
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    xfrdir: "$d"
    logfile: "$WORK/nsd.log"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "$DNSSEC_ZONE"
    zonefile: "$DNSSEC_ZONE.zone.signed"
zone:
    name: "$PLAIN_ZONE"
    zonefile: "$PLAIN_ZONE.zone"
EOF
    # unbound: validator on, the signed zone's DS its only trust anchor (no root key: every
    # other zone is insecure, not bogus). "test." is one of unbound's default static local zones
    # (RFC 6761), answered NXDOMAIN before any stub-zone is asked, so both zones are made
    # transparent; ".": everything else NXDOMAIN at once. do-not-query-localhost: no, or unbound
    # refuses to send queries to 127.0.0.1 at all. trust-anchor-signaling: no spares nsd RFC 8145's
    # _ta-XXXX queries.
    cat >"$d/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $DNSSEC_PORT
    do-ip6: no
    num-threads: 1
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    log-servfail: yes
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "validator iterator"
    trust-anchor-file: "$d/trust-anchor.ds"
    trust-anchor-signaling: no
    domain-insecure: "$PLAIN_ZONE"
    qname-minimisation: no
    local-zone: "." static
    local-zone: "$DNSSEC_ZONE." transparent
    local-zone: "$PLAIN_ZONE." transparent
stub-zone:
    name: "$DNSSEC_ZONE"
    stub-addr: 127.0.0.1@$DNSSEC_NSD_PORT
stub-zone:
    name: "$PLAIN_ZONE"
    stub-addr: 127.0.0.1@$DNSSEC_NSD_PORT
EOF
    # Both packages ship a checker: a clear message for a bad option instead of a daemon that
    # never answers.
    local check
    for check in nsd-checkconf:nsd.conf unbound-checkconf:unbound.conf; do
        [ -n "$(dnssec_tool "${check%%:*}")" ] || continue
        "$(dnssec_tool "${check%%:*}")" "$d/${check#*:}" >>"$WORK/dnssec.log" 2>&1 \
            || fail "${check#*:}: $(tail -5 "$WORK/dnssec.log")"
    done
}

# dnssec_run_daemons: nsd, then unbound once nsd answers (an unbound started first would mark
# the stub address unreachable in its infra cache and back off for a while).
dnssec_run_daemons() {
    local d=$DNSSEC_DIR
    # -d: in the foreground, so that PIDS holds the process the EXIT trap must stop (nsd's main
    # process stops its server and xfrd children on TERM).
    "$NSD_BIN" -d -c "$d/nsd.conf" >>"$WORK/nsd.log" 2>&1 &
    DNSSEC_NSD_PID=$!
    PIDS+=("$DNSSEC_NSD_PID")
    wait_for 10 dnssec_nsd_answers || fail "nsd did not serve $DNSSEC_ZONE: $(tail -20 "$WORK/nsd.log")"
    "$UNBOUND_BIN" -d -c "$d/unbound.conf" >>"$WORK/unbound.log" 2>&1 &
    DNSSEC_UNBOUND_PID=$!
    PIDS+=("$DNSSEC_UNBOUND_PID")
    wait_for 10 dnssec_secure "$DNSSEC_ZONE" SOA \
        || fail "unbound does not validate $DNSSEC_ZONE (SOA: $(dnssec_ask "$DNSSEC_PORT" "$DNSSEC_ZONE" SOA)): $(tail -20 "$WORK/unbound.log")"
    dnssec_ask "$DNSSEC_PORT" "$PLAIN_ZONE" SOA | grep -q '^NOERROR .*ad=0 .*answers=1' \
        || fail "unbound: $PLAIN_ZONE SOA: $(dnssec_ask "$DNSSEC_PORT" "$PLAIN_ZONE" SOA) (NOERROR without AD wanted): $(tail -20 "$WORK/unbound.log")"
}
dnssec_nsd_answers() {
    kill -0 "$DNSSEC_NSD_PID" 2>/dev/null || fail "nsd exited: $(tail -20 "$WORK/nsd.log")"
    dnssec_ask "$DNSSEC_NSD_PORT" "$DNSSEC_ZONE" SOA | grep -q '^NOERROR aa=1'
}

dnssec_stop_daemons() {
    local pid
    for pid in "$DNSSEC_UNBOUND_PID" "$DNSSEC_NSD_PID"; do
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -0 "$pid" 2>/dev/null && fail "DNS server $pid did not stop"
    done
    return 0
}

start_dnssec_dns() {  # start_dnssec_dns SIGNED_BODY [PLAIN_BODY]
    DNSSEC_DIR=$WORK/dnssec
    mkdir -p "$DNSSEC_DIR"
    DNSSEC_NSD_PORT=$(free_port)
    DNSSEC_PORT=$(free_port)
    dnssec_sign "$@"
    dnssec_write_configs
    dnssec_run_daemons
}

restart_dnssec_dns() {  # restart_dnssec_dns SIGNED_BODY [PLAIN_BODY]
    dnssec_stop_daemons
    dnssec_sign "$@"
    dnssec_run_daemons
}
