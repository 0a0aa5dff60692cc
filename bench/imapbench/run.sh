#!/bin/bash
# IMAP: Lightr beside Dovecot (issue 4). docs/PERFORMANCE.md has the
# figures; main.go says what is measured.
#
#   bash bench/imapbench/run.sh          # as root; or: make -C bench imapbench
#
# Writes a 10,000-message corpus with ../shared/peers/make-mbox.py (fixed
# seed), starts the reference peers (../shared/peers/start.sh: Dovecot on
# 127.0.0.1:10143) with the bench.test mailboxes emptied, builds bin/lightr
# (CGO_ENABLED=0) and serves a fresh Lightr with the same accounts
# (bench@bench.test, bench1..bench10@bench.test, password benchpass),
# without TLS like Dovecot, through lightrserve: what `lightr serve` runs,
# plus Go's profiling endpoints, so that its memory can be read after a
# collection. imapbench -mode load APPENDs the corpus to both; then both
# servers restart, and imapbench -mode measure times FETCH and SEARCH in
# alternating rounds and opens the idle connections. The report goes to
# stdout.
#
# Everything listens on 127.0.0.1, every command has a deadline, and the
# script stops what it started when it exits. It empties Dovecot's
# bench.test mailboxes.
#
# Environment: MESSAGES (10000), SEED (1), ROUNDS (5), IDLE (1000), COLD
# (5: restarts of both servers, each followed by one timed FETCH 1:*),
# LIGHTR_PORT (2143; HTTP, SMTP and lightrserve's debug endpoints take the
# next three), KEEP=1 keeps the temporary directory, PROFILE=FILE writes a
# CPU profile of Lightr over the measuring step, ARGS are more imapbench
# flags.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
PEERS_RUN=${PEERS_RUN:-/tmp/lightr-peers}
MESSAGES=${MESSAGES:-10000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-5}
IDLE=${IDLE:-1000}
COLD=${COLD:-5}
LPORT=${LIGHTR_PORT:-2143}
HPORT=$((LPORT + 1))
SPORT=$((LPORT + 2))
DPORT=$((LPORT + 3))
DOVECOT_PORT=10143
DOVECOT_PID=$PEERS_RUN/dovecot/run/master.pid

[ "$(id -u)" -eq 0 ] || { echo "run as root (Dovecot and its Maildirs)" >&2; exit 2; }
# 1,000 client connections and as many server sockets, in one process each.
ulimit -n 20000

WORK=$(mktemp -d /tmp/lightr-imapbench.XXXXXX)
LIGHTR_PID=
PEERS_STARTED=
cleanup() {
  [ -n "$LIGHTR_PID" ] && kill "$LIGHTR_PID" 2>/dev/null && wait "$LIGHTR_PID" 2>/dev/null
  [ -n "$PEERS_STARTED" ] && bash "$PEERS/start.sh" stop >/dev/null 2>&1
  [ "${KEEP:-}" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "# $*" >&2; }

wait_port() {
  for _ in $(seq 100); do
    ss -ltn | grep -q "127.0.0.1:$1 " && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

wait_free() {
  for _ in $(seq 100); do
    ss -ltn | grep -q "127.0.0.1:$1 " || return 0
    sleep 0.1
  done
  echo "127.0.0.1:$1 is still in use" >&2
  return 1
}

# --- corpus and binaries -----------------------------------------------------
cd "$ROOT"
log "corpus: $MESSAGES messages, seed $SEED"
python3 "$PEERS/make-mbox.py" "$WORK/corpus.mbox" "$MESSAGES" "$SEED"
log "build"
CGO_ENABLED=0 go build -o bin/lightr ./cmd/lightr
go build -o "$WORK/imapbench" ./bench/imapbench
# lightrserve is `lightr serve` plus Go's profiling endpoints on DPORT, so
# that memory can be read after a collection and a profile taken.
CGO_ENABLED=0 go build -o "$WORK/lightrserve" ./bench/imapbench/lightrserve
LIGHTR=$ROOT/bin/lightr

# --- Dovecot -----------------------------------------------------------------
stop_dovecot() {
  local pid
  if [ -f "$DOVECOT_PID" ] && pid=$(cat "$DOVECOT_PID") && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    wait_free "$DOVECOT_PORT"
  fi
}

start_dovecot() {
  bash "$PEERS/start.sh" start >/dev/null
  wait_port "$DOVECOT_PORT"
  sleep 1 # its login and auth processes
}

ss -ltn | grep -q "127.0.0.1:$DOVECOT_PORT " || PEERS_STARTED=1
start_dovecot # installs and configures what is missing
stop_dovecot
rm -rf "$PEERS_RUN/dovecot/mail/bench.test"
start_dovecot

# --- Lightr ------------------------------------------------------------------
export LIGHTR_IMAP_ADDR=127.0.0.1:$LPORT
export LIGHTR_HTTP_ADDR=127.0.0.1:$HPORT
export LIGHTR_SMTP_ADDR=127.0.0.1:$SPORT
export LIGHTR_DNS_RESOLVER=127.0.0.1:9
export LIGHTR_LOG_LEVEL=warn
# Dovecot runs without TLS here too: the same footing.
export LIGHTR_IMAP_ALLOW_INSECURE_AUTH=true
# 1,000 sessions of one account from loopback; Dovecot's
# mail_max_userip_connections is 1,000 per address.
export LIGHTR_IMAP_MAX_CONNECTIONS=3000
export LIGHTR_IMAP_MAX_CONNECTIONS_PER_IP=2000
export LIGHTR_IMAP_MAX_CONNECTIONS_PER_ACCOUNT=2000
export LIGHTR_DATA_DIR=$WORK/data
CONF=$WORK/lightr.yaml
lightr() { "$LIGHTR" --config "$CONF" "$@"; }

mkdir -p "$WORK/data"
lightr init --data-dir "$WORK/data" >/dev/null
ORG=$(lightr add-org --name Bench)
lightr add-domain --org "$ORG" --name bench.test >/dev/null
for u in bench bench1 bench2 bench3 bench4 bench5 bench6 bench7 bench8 bench9 bench10; do
  echo benchpass | lightr add-account --domain bench.test --email "$u@bench.test" \
    --password-stdin >/dev/null
done

# start_lightr [FLAGS]: serves the store in $WORK/data.
start_lightr() {
  "$WORK/lightrserve" -config "$CONF" -debug "127.0.0.1:$DPORT" "$@" 2>>"$WORK/lightr.log" &
  LIGHTR_PID=$!
  echo "$LIGHTR_PID" >"$WORK/lightr.pid"
  wait_port "$LPORT"
}

stop_lightr() {
  kill "$LIGHTR_PID"
  wait "$LIGHTR_PID" || true
  LIGHTR_PID=
}

# --- load, restart, measure --------------------------------------------------
BENCH=("$WORK/imapbench" -mbox "$WORK/corpus.mbox" -state "$WORK/state.json"
  -lightr "127.0.0.1:$LPORT" -lightr-pid "$WORK/lightr.pid"
  -lightr-metrics "http://127.0.0.1:$HPORT/metrics" -lightr-free "http://127.0.0.1:$DPORT/debug/free"
  -dovecot "127.0.0.1:$DOVECOT_PORT" -dovecot-pid "$DOVECOT_PID")

start_lightr
log "load"
timeout 1800 "${BENCH[@]}" -mode load

# Both measured servers start afresh: nothing of the loading stays in
# their processes (the files stay in the page cache for both).
log "restart both servers"
stop_lightr
if [ -n "${PROFILE:-}" ]; then start_lightr -cpuprofile "$PROFILE"; else start_lightr; fi
stop_dovecot
start_dovecot

log "measure; load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
timeout 3600 "${BENCH[@]}" -mode measure -rounds "$ROUNDS" -idle "$IDLE" ${ARGS:-} | tee "$WORK/report.md"
# The first FETCH of a freshly started server, COLD more times: both
# servers restart before each.
for _ in $(seq "$COLD"); do
  stop_lightr
  start_lightr
  stop_dovecot
  start_dovecot
  timeout 300 "${BENCH[@]}" -mode cold -cold "$WORK/cold.jsonl"
done
[ "$COLD" -gt 0 ] && "${BENCH[@]}" -mode cold-report -cold "$WORK/cold.jsonl" | tee -a "$WORK/report.md"

if grep -q . "$WORK/lightr.log"; then
  echo
  echo "Lightr's log (warn and above), last lines:"
  tail -5 "$WORK/lightr.log"
fi
