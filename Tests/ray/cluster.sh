#!/usr/bin/env bash
# A local Ray cluster for the Ray executor's tests (Tests/CLITests/RayExecutorTests.swift), started and
# stopped by `make test`.
#   cluster.sh start STATE   installs Ray into .venv (make ray) and starts a head node; writes STATE, a file of
#                            shell assignments: SIBYL_RAY_ADDRESS=HOST:PORT on success, SIBYL_RAY_ERROR=why
#                            otherwise (the tests then fail with that message instead of being skipped)
#   cluster.sh stop STATE    stops that head node and everything it started (its process group), no other Ray
set -uo pipefail
cd "$(dirname "$0")/../.."
action=${1:?start or stop}; state=${2:?state file}
VENV=${VENV:-.venv}

fail() { printf 'SIBYL_RAY_ERROR=%q\n' "$1" > "$state"; echo "ray cluster: $1" >&2; exit 0; }

case "$action" in
start)
  rm -f "$state"
  if ! out=$(make --no-print-directory ray 2>&1); then
    fail "Ray could not be installed into $VENV by 'make ray' (pip said: $(echo "$out" | tail -n 2 | tr '\n' ' '))"
  fi
  # A short temporary folder: Ray's Unix socket paths must stay under 107 bytes.
  temp=$(mktemp -d /tmp/sibyl-ray.XXXXXX)
  port=$(( 20000 + RANDOM % 20000 ))
  export RAY_USAGE_STATS_ENABLED=0
  # Every port of its own (the defaults would clash with a Ray the user runs on this machine).
  setsid "$VENV/bin/ray" start --head --block --port "$port" --num-cpus 2 --temp-dir "$temp" \
    --include-dashboard true --dashboard-host 127.0.0.1 --dashboard-port $(( port + 1 )) \
    --ray-client-server-port $(( port + 2 )) --node-manager-port $(( port + 3 )) --object-manager-port $(( port + 4 )) \
    --metrics-export-port $(( port + 5 )) --dashboard-agent-listen-port $(( port + 6 )) \
    --dashboard-agent-grpc-port $(( port + 7 )) --runtime-env-agent-port $(( port + 8 )) \
    --min-worker-port $(( port + 10 )) --max-worker-port $(( port + 200 )) \
    --object-store-memory 300000000 --disable-usage-stats > "$temp/start.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then fail "ray start exited: $(tail -n 3 "$temp/start.log" | tr '\n' ' ')"; fi
    if "$VENV/bin/python" -c "import ray, sys; ray.init(address='127.0.0.1:$port', logging_level='ERROR'); sys.exit(0)" >/dev/null 2>&1; then
      printf 'SIBYL_RAY_ADDRESS=127.0.0.1:%s\nSIBYL_RAY_PID=%s\nSIBYL_RAY_TEMP=%s\n' "$port" "$pid" "$temp" > "$state"
      echo "ray cluster: head at 127.0.0.1:$port, dashboard http://127.0.0.1:$(( port + 1 )) (process group $pid)" >&2
      exit 0
    fi
    sleep 1
  done
  kill -TERM -- "-$pid" 2>/dev/null
  fail "the Ray head started by ray start did not answer within 120 s (log: $temp/start.log)"
  ;;
stop)
  [ -f "$state" ] || exit 0
  # shellcheck disable=SC1090
  source "$state"
  if [ -n "${SIBYL_RAY_PID:-}" ]; then
    kill -TERM -- "-$SIBYL_RAY_PID" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 -- "-$SIBYL_RAY_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$SIBYL_RAY_PID" 2>/dev/null
    rm -rf "${SIBYL_RAY_TEMP:-/nonexistent}"
  fi
  rm -f "$state"
  ;;
*) echo "usage: cluster.sh start|stop STATE" >&2; exit 2 ;;
esac
