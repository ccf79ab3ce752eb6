#!/usr/bin/env bash
# `make netem`: `sibyl serve` and `sibyl query` over a real emulated network link, each party in its own
# network namespace, instead of the formula `sibyl evaluate --network wan` applies to counted traffic.
#
#   netem.sh [--plan DIR] [--images N] [--first I] [--dataset cifar100|cifar10|synthetic] [--data-dir DIR]
#            [--rate 400mbit] [--rtt-ms 40] [--ot iknp|silent] [--relu garbled|ot] [--sibyl PATH]
#            [--port P] [--emulator auto|netem|tun] [--queue-bdp 4] [--baseline] [--no-idle-restart]
#            [--log-dir DIR] [--out FILE.json] [--opencheetah DIR]
#
# --opencheetah DIR runs OpenCheetah's ResNet-32 (opencheetah/build.sh) over the same link instead, --images times.
# Defaults: Plans/resnet32-cifar100-relu, test images 0 and 1 of cifar100, 400mbit each way, 40 ms RTT
# (OpenCheetah's WAN), silent OT, OT-based ReLUs, .build/release/sibyl, port 7070.
#
# The link. With --emulator netem (what auto picks when the kernel has sch_netem): two namespaces, a veth
# pair server 10.77.0.1/24 <-> client 10.77.0.2/24, and on both veth ends
#     tc qdisc add dev X root netem delay RTT/2 rate RATE limit L
# so a round trip takes RTT and each direction has the rate. L (packets) is --queue-bdp (4) times the
# bandwidth-delay product in 1500-byte packets, at least 1000: netem holds every packet of the delay in its
# queue, and its default limit of 1000 packets drops at 400 Mbit x 40 ms (2 MB, 1,333 full packets).
# With --emulator tun (what auto picks when the kernel lacks sch_netem, as on this project's VMs): three
# namespaces, server 10.77.0.1/24 - router 10.77.0.254 | 10.77.1.254 - client 10.77.1.2/24; the router sends
# every packet it forwards through a TUN device owned by tunlink.py (beside this script), which delays and
# rate-limits each direction as netem does (serialize at RATE, then RTT/2; tail drop past --queue-bdp x the
# bandwidth-delay product in bytes) and hands it back to the kernel. The delay sits on a middlebox, after
# the veth has released the sender's socket memory, so TCP small queues do not throttle the sender.
#
# Then it starts `sibyl serve PLAN` in the server's namespace, waits for it to listen, measures the RTT
# (ping, or the time of a refused TCP connect where ping is missing), and runs `sibyl query --json` for each
# image in the client's namespace, timing each by the wall clock. --baseline first runs the same queries
# over the same veths with no emulation (the computation alone on this machine). --no-idle-restart sets
# net.ipv4.tcp_slow_start_after_idle=0 in both parties' namespaces (TCP keeps its window across idle gaps). The summary JSON (--out,
# else stdout) has the link, the TCP settings of the namespaces, the measured RTT, per image the wall
# seconds, the query's own figures (offline and online seconds and bytes, online flights), the session's
# traffic as the server counted it (bytes and one-way flights, the session's setup included), and medians;
# a human-readable line goes to stderr.
#
# Comparing with the formula. `sibyl evaluate --network wan` reports loopback seconds + bytes x 8 /
# bandwidth + flights x RTT / 2. Here, per image, `formula.network_seconds` is that formula's network part
# applied to the session's counted bytes and flights, and with --baseline `formula.seconds` adds the
# baseline's wall time: compare it with `wall_seconds`. The difference is what the formula leaves out:
# TCP's slow start (after every idle gap longer than an RTO, as net.ipv4.tcp_slow_start_after_idle=1 does),
# queueing, the window, and the overlap of computation with transfer. Against `sibyl evaluate` itself: run
# `sibyl evaluate PLAN --images N --ot OT --relu RELU --network wan --no-float --json` on an idle machine
# and compare its `latency` (per image) with `median_wall_seconds`; evaluate's figures exclude the session's
# one-time setup (base OTs, silent-OT bootstrap), which a query's wall time includes.
set -euo pipefail
unset OPENBLAS_CORETYPE   # as the Makefile: let OpenBLAS pick its kernels (Experiments/bench/README.md)

die() { echo "netem.sh: $*" >&2; exit 1; }
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

PLAN=Plans/resnet32-cifar100-relu
IMAGES=2
FIRST=0
DATASET=cifar100
DATA_DIR=Datasets
RATE=400mbit
RTT_MS=40
OT=silent
RELU=ot
SIBYL=.build/release/sibyl
PORT=7070
EMULATOR=auto
QUEUE_BDP=4
BASELINE=0
IDLE_RESTART=1
LOG_DIR=""
OUT=""
OPENCHEETAH=""

# Paths given on the command line are relative to the caller's directory; the defaults to the repository.
absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --baseline) BASELINE=1; shift; continue ;;
        --no-idle-restart) IDLE_RESTART=0; shift; continue ;;
    esac
    [ $# -ge 2 ] || die "$1 needs a value (--help for usage)"
    case "$1" in
        --plan) PLAN=$(absolute "$2") ;;
        --images) IMAGES=$2 ;;
        --first) FIRST=$2 ;;
        --dataset) DATASET=$2 ;;
        --data-dir) DATA_DIR=$(absolute "$2") ;;
        --rate) RATE=$2 ;;
        --rtt-ms) RTT_MS=$2 ;;
        --ot) OT=$2 ;;
        --relu) RELU=$2 ;;
        --sibyl) SIBYL=$(absolute "$2") ;;
        --port) PORT=$2 ;;
        --emulator) EMULATOR=$2 ;;
        --queue-bdp) QUEUE_BDP=$2 ;;
        --log-dir) LOG_DIR=$(absolute "$2") ;;
        --out) OUT=$(absolute "$2") ;;
        --opencheetah) OPENCHEETAH=$(absolute "$2") ;;
        *) die "unknown option $1 (--help for usage)" ;;
    esac
    shift 2
done
cd "$(dirname "$0")/../.."
HERE=Experiments/communication-resnet32

[[ $IMAGES =~ ^[1-9][0-9]*$ ]] || die "--images must be a positive integer (got $IMAGES)"
[[ $FIRST =~ ^[0-9]+$ ]] || die "--first must be a non-negative integer (got $FIRST)"
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65534 ] || die "--port must be 1..65534 (got $PORT)"
[[ $RTT_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--rtt-ms must be a non-negative number of milliseconds (got $RTT_MS)"
[[ $QUEUE_BDP =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--queue-bdp must be a positive number (got $QUEUE_BDP)"
case "$OT" in iknp|silent) ;; *) die "--ot must be iknp or silent (got $OT)" ;; esac
case "$RELU" in garbled|ot) ;; *) die "--relu must be garbled or ot (got $RELU)" ;; esac
case "$DATASET" in cifar10|cifar100|synthetic) ;; *) die "--dataset must be cifar10, cifar100 or synthetic" ;; esac
case "$EMULATOR" in auto|netem|tun) ;; *) die "--emulator must be auto, netem or tun (got $EMULATOR)" ;; esac
# tc's rate units: bit (also a bare number), kbit, mbit, gbit, tbit; bps, kbps, ... are bytes per second.
shopt -s nocasematch
[[ $RATE =~ ^([0-9]+(\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)?$ ]] ||
    die "--rate must be a tc rate such as 400mbit or 1gbit (got $RATE)"
shopt -u nocasematch
case "${BASH_REMATCH[3],,}" in
    ''|bit) scale=1 ;; kbit) scale=1e3 ;; mbit) scale=1e6 ;; gbit) scale=1e9 ;; tbit) scale=1e12 ;;
    bps) scale=8 ;; kbps) scale=8e3 ;; mbps) scale=8e6 ;; gbps) scale=8e9 ;; tbps) scale=8e12 ;;
esac
RATE_BPS=$(awk -v n="${BASH_REMATCH[1]}" -v s="$scale" 'BEGIN { printf "%.0f", n * s }')
[ "$RATE_BPS" -gt 0 ] || die "--rate must be positive"
HALF_MS=$(awk -v r="$RTT_MS" 'BEGIN { printf "%.6g", r / 2 }')
BDP_BYTES=$(awk -v b="$RATE_BPS" -v r="$RTT_MS" 'BEGIN { printf "%.0f", b * r / 1000 / 8 }')
NETEM_LIMIT=$(awk -v d="$BDP_BYTES" -v q="$QUEUE_BDP" 'BEGIN { l = int(q * d / 1500 + 0.999); print (l > 1000 ? l : 1000) }')
TUN_LIMIT=$(awk -v d="$BDP_BYTES" -v q="$QUEUE_BDP" 'BEGIN { l = int(q * d); print (l > 1500000 ? l : 1500000) }')

[ "$(id -u)" = 0 ] || die "must run as root: network namespaces, veths and qdiscs need CAP_NET_ADMIN (sudo bash $0 ...)"
command -v ip >/dev/null && command -v tc >/dev/null ||
    die "needs ip and tc: install iproute2 (Debian: apt-get install iproute2)"
command -v python3 >/dev/null || die "needs python3 for the summary and the TUN link (Debian: apt-get install python3)"
[ -x "$SIBYL" ] || die "no sibyl binary at $SIBYL (make build, or --sibyl PATH)"
SIBYL=$(absolute "$SIBYL")
[ -f "$PLAN/plan.json" ] && [ -f "$PLAN/weights.h5" ] || die "$PLAN is not a plan directory (plan.json + weights.h5)"
DATA_DIR=$(absolute "$DATA_DIR")

ID=$$
NS_SERVER=sibyl-netem-$ID-server
NS_CLIENT=sibyl-netem-$ID-client
NS_ROUTER=sibyl-netem-$ID-router
NAMESPACES=()
SERVER_PID=""
LINK_PID=""
if [ -n "$LOG_DIR" ]; then mkdir -p "$LOG_DIR"; WORK=$LOG_DIR; else WORK=$(mktemp -d -t sibyl-netem-run.XXXXXX); fi
rm -f "$WORK"/{walls.txt,rtt.txt,link.ready,link-stats.json,link-stats.txt,server.log}

stop() {   # SIGTERM, then SIGKILL after 5 s: one process this script started
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

exec 3>&2   # the caller's stderr: a trap can fire while a query's stderr goes to its log
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    exec 2>&3
    for pid in $SERVER_PID $LINK_PID; do stop "$pid"; done
    for ns in "${NAMESPACES[@]}"; do
        # Whatever is left in this run's namespaces was started by this run (a query cut short).
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null || echo "netem.sh: could not delete namespace $ns" >&2
    done
    if [ "$status" != 0 ] && [ -s "$WORK/server.log" ]; then
        echo "netem.sh: failed ($status); the server's log:" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    [ -n "$LOG_DIR" ] || rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
add_ns() { ip netns add "$1"; NAMESPACES+=("$1"); ip -n "$1" link set lo up; }

# Which emulator: netem if this kernel has it (tried on the loopback of the server's namespace).
add_ns "$NS_SERVER"
if [ "$EMULATOR" != tun ]; then
    if in_ns "$NS_SERVER" tc qdisc add dev lo root netem delay 1ms 2>"$WORK/probe.err"; then
        in_ns "$NS_SERVER" tc qdisc del dev lo root
        EMULATOR=netem
    elif [ "$EMULATOR" = netem ]; then
        die "tc cannot add a netem qdisc ($(tr -d '\n' < "$WORK/probe.err")): this kernel lacks sch_netem; --emulator tun (or auto) emulates the link in user space"
    else
        EMULATOR=tun
        echo "netem.sh: this kernel has no netem qdisc ($(tr -d '\n' < "$WORK/probe.err")); emulating the link in user space (tunlink.py)" >&2
    fi
fi
add_ns "$NS_CLIENT"
for ns in "$NS_SERVER" "$NS_CLIENT"; do
    in_ns "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null || true
    [ "$IDLE_RESTART" = 1 ] || in_ns "$ns" sysctl -q -w net.ipv4.tcp_slow_start_after_idle=0 >/dev/null
done

SERVER_ADDR=10.77.0.1
if [ "$EMULATOR" = netem ]; then
    CLIENT_ADDR=10.77.0.2
    ip link add nm-server netns "$NS_SERVER" type veth peer name nm-client netns "$NS_CLIENT"
    ip -n "$NS_SERVER" addr add $SERVER_ADDR/24 dev nm-server
    ip -n "$NS_CLIENT" addr add $CLIENT_ADDR/24 dev nm-client
    ip -n "$NS_SERVER" link set nm-server up
    ip -n "$NS_CLIENT" link set nm-client up
    LINK_DESCRIPTION="netem delay ${HALF_MS}ms rate $RATE limit $NETEM_LIMIT on both veth ends"
    enable_link() {
        in_ns "$NS_SERVER" tc qdisc add dev nm-server root netem delay "${HALF_MS}ms" rate "$RATE" limit "$NETEM_LIMIT"
        in_ns "$NS_CLIENT" tc qdisc add dev nm-client root netem delay "${HALF_MS}ms" rate "$RATE" limit "$NETEM_LIMIT"
    }
    link_alive() { :; }
    link_stats() {
        { in_ns "$NS_SERVER" tc -s qdisc show dev nm-server; in_ns "$NS_CLIENT" tc -s qdisc show dev nm-client; } > "$WORK/link-stats.txt"
    }
else
    CLIENT_ADDR=10.77.1.2
    add_ns "$NS_ROUTER"
    in_ns "$NS_ROUTER" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null || true
    ip link add nm-server netns "$NS_SERVER" type veth peer name rt-server netns "$NS_ROUTER"
    ip link add nm-client netns "$NS_CLIENT" type veth peer name rt-client netns "$NS_ROUTER"
    ip -n "$NS_SERVER" addr add $SERVER_ADDR/24 dev nm-server
    ip -n "$NS_ROUTER" addr add 10.77.0.254/24 dev rt-server
    ip -n "$NS_ROUTER" addr add 10.77.1.254/24 dev rt-client
    ip -n "$NS_CLIENT" addr add $CLIENT_ADDR/24 dev nm-client
    for pair in "$NS_SERVER nm-server" "$NS_CLIENT nm-client" "$NS_ROUTER rt-server" "$NS_ROUTER rt-client"; do
        set -- $pair; ip -n "$1" link set "$2" up
    done
    ip -n "$NS_SERVER" route add 10.77.1.0/24 via 10.77.0.254
    ip -n "$NS_CLIENT" route add 10.77.0.0/24 via 10.77.1.254
    in_ns "$NS_ROUTER" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
    # Started by ip netns exec itself (not a shell function) so that $! is the process to stop; under a
    # real-time policy where chrt works, as netem's timers run ahead of every process.
    PRIORITY=()
    command -v chrt >/dev/null && chrt -f 10 true 2>/dev/null && PRIORITY=(chrt -f 10)
    ip netns exec "$NS_ROUTER" "${PRIORITY[@]}" python3 "$HERE/tunlink.py" --dev nmlink --rate-bps "$RATE_BPS" \
        --delay-s "$(awk -v h="$HALF_MS" 'BEGIN { printf "%.9f", h / 1000 }')" --limit-bytes "$TUN_LIMIT" \
        --forward-prefix 10.77.1. --ready "$WORK/link.ready" --stats "$WORK/link-stats.json" \
        > "$WORK/link.log" 2>&1 &
    LINK_PID=$!
    for _ in $(seq 100); do [ -e "$WORK/link.ready" ] || ! kill -0 $LINK_PID 2>/dev/null && break; sleep 0.1; done
    [ -e "$WORK/link.ready" ] || die "tunlink.py did not start: $(cat "$WORK/link.log")"
    in_ns "$NS_ROUTER" sysctl -q -w net.ipv4.conf.nmlink.rp_filter=0 >/dev/null
    ip -n "$NS_ROUTER" link set nmlink up
    ip -n "$NS_ROUTER" route add default dev nmlink table 100
    # Should tunlink.py die, its device and route go: the blackhole then drops the traffic rather than
    # letting it through unemulated.
    ip -n "$NS_ROUTER" route add blackhole default table 100 metric 1000
    LINK_DESCRIPTION="user-space link (tunlink.py) in a router namespace: delay ${HALF_MS}ms and rate $RATE each way, limit $TUN_LIMIT bytes each way"
    # Packets arriving from either party go through the TUN device; tunlink.py writes them back, and the
    # kernel forwards them (arriving on nmlink, so the main table) to the other party.
    enable_link() {
        ip -n "$NS_ROUTER" rule add iif rt-server lookup 100 pref 100
        ip -n "$NS_ROUTER" rule add iif rt-client lookup 100 pref 101
    }
    link_alive() { kill -0 $LINK_PID 2>/dev/null || die "tunlink.py died during the run: $(cat "$WORK/link.log")"; }
    link_stats() { link_alive; stop $LINK_PID; LINK_PID=""; }
fi

# --opencheetah DIR: OpenCheetah's ResNet-32 (opencheetah/build.sh's build/cheetah directory, our driver
# bin/resnet32-cheetah) over the same link instead of Sibyl: its server in the server's namespace, its client
# in the client's, --images runs, each timed by the wall clock with its own counters read from the output.
# Each party runs in a session of its own (setsid), so that nothing it signals to its group reaches this script.
if [ -n "$OPENCHEETAH" ]; then
    CHEETAH="$OPENCHEETAH/bin/resnet32-cheetah"
    [ -x "$CHEETAH" ] || die "no $CHEETAH (build it with opencheetah/build.sh)"
    enable_link
    : > "$WORK/cheetah.txt"
    for ((i = 0; i < IMAGES; i++)); do
        link_alive
        (cd "$OPENCHEETAH" && exec setsid ip netns exec "$NS_SERVER" "$CHEETAH" r=1 k=12 ell=41 nt=1 p="$PORT") \
            > "$WORK/cheetah-server-$i.txt" 2>&1 &
        CHEETAH_PID=$!
        sleep 1
        start=$(date +%s.%N)
        (cd "$OPENCHEETAH" && exec setsid ip netns exec "$NS_CLIENT" "$CHEETAH" r=2 k=12 ell=41 nt=1 p="$PORT" ip=$SERVER_ADDR) \
            > "$WORK/cheetah-client-$i.txt" 2>&1 || status=$?
        end=$(date +%s.%N)
        # Its client can crash in its closing statistics (seen here in a namespace: a segmentation fault after
        # "Avgpool data sent"); a run counts when both parties printed the computation's own totals.
        grep -q "Total time taken" "$WORK/cheetah-client-$i.txt" ||
            die "OpenCheetah's client failed (${status:-0}): $(tail -n 5 "$WORK/cheetah-client-$i.txt")"
        # The server prints its totals as the computation ends; it is not waited for (after its client crashed
        # it was seen to spin, and its exit to signal this script), but stopped.
        for _ in $(seq 100); do grep -q "Total time taken" "$WORK/cheetah-server-$i.txt" && break; sleep 0.1; done
        kill -KILL $CHEETAH_PID 2>/dev/null || true
        for pid in $(ip netns pids "$NS_SERVER" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        grep -q "Total time taken" "$WORK/cheetah-server-$i.txt" ||
            die "OpenCheetah's server failed: $(tail -n 5 "$WORK/cheetah-server-$i.txt")"
        echo "$i $start $end" >> "$WORK/cheetah.txt"
        echo "netem.sh: OpenCheetah run $i: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') s wall" >&2
    done
    link_stats
    python3 - "$WORK" "$IMAGES" "$RATE" "$RTT_MS" "$LINK_DESCRIPTION" > "${OUT:-/dev/stdout}" <<'PY'
import json, os, re, statistics, sys
work, runs, rate, rtt, link = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
def figures(path):
    text = open(path).read()
    def last(pattern):
        found = re.findall(pattern, text)
        return float(found[-1]) if found else None
    millis = last(r"Total time taken = ([0-9.]+) milliseconds")
    return {"computation_seconds": millis / 1000 if millis is not None else None,
            "sent_mib": last(r"Total data sent = ([0-9.]+) MiB"), "rounds": last(r"Number of rounds = ([0-9]+)")}
rows = []
for line in open(os.path.join(work, "cheetah.txt")):
    i, start, end = line.split()
    server, client = figures(os.path.join(work, f"cheetah-server-{i}.txt")), figures(os.path.join(work, f"cheetah-client-{i}.txt"))
    total = (server["sent_mib"] or 0) + (client["sent_mib"] or 0)
    rows.append({"run": int(i), "wall_seconds": float(end) - float(start), "server": server, "client": client, "total_mib": total})
print(json.dumps({"system": "OpenCheetah resnet32-cheetah (k=12, ell=41, 1 thread each)", "rate": rate, "rtt_ms": rtt,
                  "link": link, "runs": rows,
                  "median_wall_seconds": statistics.median(r["wall_seconds"] for r in rows),
                  "median_computation_seconds": statistics.median(r["client"]["computation_seconds"] or 0 for r in rows)}, indent=1))
PY
    exit 0
fi

CONNECTIONS=$IMAGES
[ "$BASELINE" = 0 ] || CONNECTIONS=$((2 * IMAGES))
ip netns exec "$NS_SERVER" "$SIBYL" serve "$PLAN" --host $SERVER_ADDR --port "$PORT" --connections "$CONNECTIONS" \
    --ot "$OT" --relu "$RELU" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do
    grep -q "serving plan" "$WORK/server.log" && break
    kill -0 $SERVER_PID 2>/dev/null || die "the server exited before listening: $(cat "$WORK/server.log")"
    sleep 0.2
done
grep -q "serving plan" "$WORK/server.log" || die "the server did not listen within 120 s: $(cat "$WORK/server.log")"
echo "netem.sh: $(head -n 1 "$WORK/server.log")" >&2

run_queries() {   # $1: phase (baseline or link)
    local i index start end
    for ((i = 0; i < IMAGES; i++)); do
        index=$((FIRST + i))
        [ "$1" = baseline ] || link_alive
        start=$(date +%s.%N)
        in_ns "$NS_CLIENT" "$SIBYL" query --host $SERVER_ADDR --port "$PORT" --cifar-index "$index" \
            --dataset "$DATASET" --data-dir "$DATA_DIR" --json > "$WORK/$1-$i.json" 2> "$WORK/$1-$i.err" ||
            die "query of image $index ($1) failed: $(cat "$WORK/$1-$i.err" "$WORK/$1-$i.json")"
        end=$(date +%s.%N)
        echo "$1 $i $index $start $end" >> "$WORK/walls.txt"
        echo "netem.sh: $1 image $index: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') s wall" >&2
    done
}

[ "$BASELINE" = 0 ] || run_queries baseline
enable_link

# The RTT as measured: ping, else the time a TCP connect to a closed port takes to be refused (SYN, RST).
RTT_METHOD=none
: > "$WORK/rtt.txt"
if command -v ping >/dev/null; then
    RTT_METHOD=ping
    in_ns "$NS_CLIENT" ping -c 3 -i 0.2 -W 2 $SERVER_ADDR > "$WORK/ping.txt" 2>&1 || true
    sed -n 's|.*= \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/.*|\1 \2 \3|p' "$WORK/ping.txt" > "$WORK/rtt.txt"
else
    RTT_METHOD=tcp-refused
    in_ns "$NS_CLIENT" python3 - $SERVER_ADDR $((PORT + 1)) > "$WORK/rtt.txt" <<'PY' || true
import socket, sys, time
samples = []
for _ in range(5):
    s = socket.socket(); s.settimeout(5)
    start = time.perf_counter()
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
    except ConnectionRefusedError:
        samples.append((time.perf_counter() - start) * 1e3)
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(0.1)
if samples:
    print(f"{min(samples):.3f} {sum(samples) / len(samples):.3f} {max(samples):.3f}")
PY
fi
if [ -s "$WORK/rtt.txt" ]; then
    echo "netem.sh: RTT by $RTT_METHOD (min avg max ms): $(cat "$WORK/rtt.txt") (asked $RTT_MS)" >&2
    awk -v want="$RTT_MS" '{ d = $2 - want; if (d < 0) d = -d; exit !(d > 1 && d > 0.25 * want) }' "$WORK/rtt.txt" &&
        echo "netem.sh: warning: the measured RTT is far from the $RTT_MS ms asked" >&2
else
    echo "netem.sh: could not measure the RTT ($RTT_METHOD)" >&2
fi

run_queries link

for _ in $(seq 300); do kill -0 $SERVER_PID 2>/dev/null || break; sleep 0.2; done
kill -0 $SERVER_PID 2>/dev/null && echo "netem.sh: the server did not stop after $CONNECTIONS connections; stopping it" >&2
stop $SERVER_PID
SERVER_PID=""
link_stats
for ns in "$NS_SERVER" "$NS_CLIENT"; do
    in_ns "$ns" sysctl -n net.ipv4.tcp_congestion_control net.ipv4.tcp_slow_start_after_idle \
        net.ipv4.tcp_rmem net.ipv4.tcp_wmem | tr '\t' ' ' > "$WORK/tcp-$ns.txt"
done

export NETEM_WORK=$WORK NETEM_PLAN=$(realpath -s --relative-base="$PWD" "$PLAN") NETEM_IMAGES=$IMAGES NETEM_DATASET=$DATASET NETEM_OT=$OT \
    NETEM_RELU=$RELU NETEM_RATE=$RATE NETEM_RATE_BPS=$RATE_BPS NETEM_RTT_MS=$RTT_MS NETEM_EMULATOR=$EMULATOR \
    NETEM_LINK="$LINK_DESCRIPTION" NETEM_SERVER=$SERVER_ADDR NETEM_CLIENT=$CLIENT_ADDR NETEM_RTT_METHOD=$RTT_METHOD \
    NETEM_BASELINE=$BASELINE NETEM_TCP_SERVER="$WORK/tcp-$NS_SERVER.txt" NETEM_TCP_CLIENT="$WORK/tcp-$NS_CLIENT.txt" \
    NETEM_SIBYL=$(realpath -s --relative-base="$PWD" "$SIBYL") NETEM_OUT=$OUT
python3 - <<'PY'
import json, os, re, statistics, sys
env = os.environ
work, images = env["NETEM_WORK"], int(env["NETEM_IMAGES"])
rate, rtt = float(env["NETEM_RATE_BPS"]), float(env["NETEM_RTT_MS"]) / 1e3

def read_json(path):
    text = open(path).read()
    return json.loads(text[text.index("{"):])

def tcp(path):
    cc, slow, rmem, wmem = open(path).read().split("\n")[:4]
    return {"congestion_control": cc, "slow_start_after_idle": int(slow), "rmem": rmem, "wmem": wmem}

walls = {}
for line in open(os.path.join(work, "walls.txt")):
    phase, i, index, start, end = line.split()
    walls[(phase, int(i))] = (int(index), float(end) - float(start))
# One line per connection, in the order the sessions ended (queries run one at a time).
sessions = [dict(zip(("sent", "sent_flights", "received", "received_flights"), map(int, m)))
            for m in re.findall(r"served \d+ image\(s\); sent (\d+) B in (\d+) rounds, received (\d+) B in (\d+) rounds",
                                open(os.path.join(work, "server.log")).read())]
phases = (["baseline"] if env["NETEM_BASELINE"] == "1" else []) + ["link"]

def image(phase, i):
    index, wall = walls[(phase, i)]
    query = read_json(os.path.join(work, f"{phase}-{i}.json"))
    entry = {"index": index, "wall_seconds": round(wall, 4),
             "query": {"offline": query["offline"], "online": query["online"], "label": query.get("label"),
                       "top1": query["top"][0]["class"] if query.get("top") else None}}
    k = phases.index(phase) * images + i
    if k < len(sessions):
        s = sessions[k]
        total, flights = s["sent"] + s["received"], s["sent_flights"] + s["received_flights"]
        entry["session"] = {"bytes": total, "flights": flights, **s}
        if phase == "link":
            entry["formula"] = {"network_seconds": round(total * 8 / rate + flights * rtt / 2, 4)}
    return entry

runs = {phase: [image(phase, i) for i in range(images)] for phase in phases}
for i, entry in enumerate(runs["link"]):
    if "baseline" in runs and "formula" in entry:
        base = runs["baseline"][i]["wall_seconds"]
        entry["formula"]["seconds"] = round(base + entry["formula"]["network_seconds"], 4)
        entry["measured_network_seconds"] = round(entry["wall_seconds"] - base, 4)

rtt_text = open(os.path.join(work, "rtt.txt")).read().split()
link_stats = None
if os.path.exists(os.path.join(work, "link-stats.json")):
    link_stats = json.load(open(os.path.join(work, "link-stats.json")))
elif os.path.exists(os.path.join(work, "link-stats.txt")):
    link_stats = open(os.path.join(work, "link-stats.txt")).read()

def median(phase, get):
    values = [get(e) for e in runs[phase] if get(e) is not None]
    return round(statistics.median(values), 4) if values else None

link = runs["link"]
summary = {
    "plan": env["NETEM_PLAN"], "dataset": env["NETEM_DATASET"], "images": images, "ot": env["NETEM_OT"],
    "relu": env["NETEM_RELU"], "sibyl": env["NETEM_SIBYL"],
    "link": {"emulator": env["NETEM_EMULATOR"], "description": env["NETEM_LINK"], "rate": env["NETEM_RATE"],
             "rate_bits_per_second": rate, "rtt_ms": float(env["NETEM_RTT_MS"]),
             "server": env["NETEM_SERVER"], "client": env["NETEM_CLIENT"], "stats": link_stats},
    "tcp": {"server": tcp(env["NETEM_TCP_SERVER"]), "client": tcp(env["NETEM_TCP_CLIENT"])},
    "measured_rtt_ms": ({"method": env["NETEM_RTT_METHOD"], "min": float(rtt_text[0]), "avg": float(rtt_text[1]),
                         "max": float(rtt_text[2])} if len(rtt_text) == 3 else None),
    "per_image": link,
    "median_wall_seconds": median("link", lambda e: e["wall_seconds"]),
    "median_query_seconds": median("link", lambda e: e["query"]["offline"]["seconds"] + e["query"]["online"]["seconds"]),
    "median_offline_seconds": median("link", lambda e: e["query"]["offline"]["seconds"]),
    "median_online_seconds": median("link", lambda e: e["query"]["online"]["seconds"]),
    "median_formula_network_seconds": median("link", lambda e: e.get("formula", {}).get("network_seconds")),
}
if "baseline" in runs:
    summary["baseline"] = runs["baseline"]
    summary["median_baseline_wall_seconds"] = median("baseline", lambda e: e["wall_seconds"])
    summary["median_formula_seconds"] = median("link", lambda e: e.get("formula", {}).get("seconds"))
text = json.dumps(summary, indent=2)
if env["NETEM_OUT"]:
    with open(env["NETEM_OUT"], "w") as out:
        out.write(text + "\n")
else:
    print(text)

line = (f"netem: {images} image(s) of {os.path.basename(env['NETEM_PLAN'].rstrip('/'))} ({env['NETEM_OT']} OT, "
        f"{env['NETEM_RELU']} ReLUs) over {env['NETEM_RATE']} / {env['NETEM_RTT_MS']} ms RTT ({env['NETEM_EMULATOR']}"
        + (f", measured {summary['measured_rtt_ms']['avg']:.1f} ms" if summary["measured_rtt_ms"] else "") + "): "
        f"median wall {summary['median_wall_seconds']:.3f} s (query: offline {summary['median_offline_seconds']:.3f} s"
        f" + online {summary['median_online_seconds']:.3f} s)")
if summary["median_formula_network_seconds"] is not None:
    line += f"; formula's network part {summary['median_formula_network_seconds']:.3f} s"
if "baseline" in runs:
    line += (f"; baseline wall {summary['median_baseline_wall_seconds']:.3f} s, formula total "
             f"{summary['median_formula_seconds']:.3f} s")
print(line, file=sys.stderr)
PY
