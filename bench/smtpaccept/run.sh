#!/bin/bash
# SMTP acceptance: Lightr beside Postfix (issue 3). docs/PERFORMANCE.md has
# the figures and README.md here what is measured.
#
#   bash bench/smtpaccept/run.sh          # as root; or: make -C bench smtpaccept
#
# Builds bin/lightr (CGO_ENABLED=0), initialises a fresh Lightr in a
# temporary directory with the domain bench.test and the account
# bench@bench.test, starts the reference peers (../shared/peers/start.sh:
# smtp-sink on 2500, Postfix on 2525) and a loopback DNS stub for Lightr's
# SPF/DKIM/DMARC lookups, then drives each server with smtp-source
# (smtp-bench.sh: 20 sessions, 2000 messages, a new connection per
# message) for 4 KiB and 100 KiB messages. Rounds alternate sink, Postfix,
# Lightr (ABAB), RUNS times; every Postfix run starts with an empty,
# drained queue and Maildir, every Lightr run with a fresh process on a
# copy of the store. Last, Lightr's 4 KiB case runs again, alternating an
# empty store with one that already holds PRELOAD messages.
#
# Everything listens on 127.0.0.1, every run is bounded (smtp-bench.sh's
# TIMEOUT), and the script stops what it started when it exits.
#
# Environment: RUNS (3), SIZES ("4096 102400"), MSGS (2000), PRELOAD
# (20000), LIGHTR_PORT (2626; HTTP and the DNS stub take the next two),
# KEEP=1 keeps the temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
RUNS=${RUNS:-3}
SIZES=${SIZES:-4096 102400}
MSGS=${MSGS:-2000}
PRELOAD=${PRELOAD:-20000}
LPORT=${LIGHTR_PORT:-2626}
HPORT=$((LPORT + 1))
DPORT=$((LPORT + 2))
SINK_PORT=2500
POSTFIX_PORT=2525
MAILDIR=/var/mail/vhosts/bench.test/bench
HZ=$(getconf CLK_TCK)

[ "$(id -u)" -eq 0 ] || { echo "run as root (Postfix and its Maildir)" >&2; exit 2; }
[ -x /usr/sbin/smtp-source ] || { echo "smtp-source missing: apt-get install postfix" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lightr-smtpaccept.XXXXXX)
LIGHTR_PID=
DNS_PID=
PEERS_STARTED=
cleanup() {
  [ -n "$LIGHTR_PID" ] && kill "$LIGHTR_PID" 2>/dev/null && wait "$LIGHTR_PID" 2>/dev/null
  [ -n "$DNS_PID" ] && kill "$DNS_PID" 2>/dev/null && wait "$DNS_PID" 2>/dev/null
  [ -n "$PEERS_STARTED" ] && bash "$PEERS/start.sh" stop >/dev/null 2>&1
  [ "${KEEP:-}" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "# $*" >&2; }

# --- build and set up Lightr -------------------------------------------------
cd "$ROOT"
# REV names the code when it is not a git checkout (an export of a commit).
if git rev-parse --git-dir >/dev/null 2>&1; then
  REV=$(git rev-parse --short HEAD)
  git diff --quiet HEAD -- . || REV="$REV+changes"
else
  REV=${REV:-unknown}
fi
log "build $REV"
CGO_ENABLED=0 go build -o bin/lightr ./cmd/lightr
go build -o "$WORK/dnsstub" ./bench/smtpaccept/dnsstub
LIGHTR=$ROOT/bin/lightr

export LIGHTR_SMTP_ADDR=127.0.0.1:$LPORT
export LIGHTR_HTTP_ADDR=127.0.0.1:$HPORT
export LIGHTR_DNS_RESOLVER=127.0.0.1:$DPORT
export LIGHTR_LOG_LEVEL=warn
export LIGHTR_SMTP_DOMAIN=mx.bench.test
# smtp-source opens a new connection per message from one address; 20
# sessions plus connections still closing exceed the default of 20 per IP.
export LIGHTR_SMTP_MAX_CONNECTIONS_PER_IP=100
CONF=$WORK/lightr.yaml
lightr() { "$LIGHTR" --config "$CONF" "$@"; }

mkdir -p "$WORK/empty"
lightr init --data-dir "$WORK/empty" >/dev/null
ORG=$(lightr add-org --name Bench)
lightr add-domain --org "$ORG" --name bench.test >/dev/null
echo 'bench pass phrase' | lightr add-account --domain bench.test --email bench@bench.test \
  --password-stdin >/dev/null

"$WORK/dnsstub" -addr "127.0.0.1:$DPORT" -for 3h 2>"$WORK/dns.log" &
DNS_PID=$!

wait_port() {
  for _ in $(seq 100); do
    ss -ltn | grep -q "127.0.0.1:$1 " && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# start_lightr DIR: serves a fresh copy of the store in DIR.
start_lightr() {
  rm -rf "$WORK/data"
  cp -a "$1" "$WORK/data"
  LIGHTR_DATA_DIR=$WORK/data "$LIGHTR" --config "$CONF" serve 2>>"$WORK/lightr.log" &
  LIGHTR_PID=$!
  wait_port "$LPORT"
}

stop_lightr() {
  kill "$LIGHTR_PID"
  wait "$LIGHTR_PID" || true
  LIGHTR_PID=
}

# --- peers -------------------------------------------------------------------
if ! ss -ltn | grep -q "127.0.0.1:$POSTFIX_PORT "; then PEERS_STARTED=1; fi
# Debian's postfix package installed with "No configuration" has no
# main.cf, and start.sh's set-up, which edits it with postconf, then fails
# half-way (master.cf edited, main.cf missing). Start from Debian's
# default main.cf and run start.sh's own set-up again.
if [ ! -f /etc/postfix/main.cf ]; then
  cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
fi
if ! postconf -h virtual_mailbox_domains 2>/dev/null | grep -q bench.test; then
  log "configure Postfix with start.sh's set-up"
  bash -c "source <(sed '/^case /,\$d' '$PEERS/start.sh'); setup_postfix"
fi
bash "$PEERS/start.sh" start >/dev/null
wait_port "$POSTFIX_PORT"
wait_port "$SINK_PORT"
POSTFIX_MASTER=$(tr -d ' ' </var/spool/postfix/pid/master.pid)

# --- measuring ---------------------------------------------------------------
# tree PID: PID and its descendants, one a line.
tree() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      q[1] = root; n = 1
      for (i = 1; i <= n; i++) {
        print q[i]; m = split(kids[q[i]], k, " ")
        for (j = 1; j <= m; j++) q[++n] = k[j]
      }
    }'
}

# ticks PID: CPU ticks of PID and its descendants, the reaped ones included
# (cutime, cstime): Postfix's master reaps its smtpd and cleanup processes.
ticks() {
  local p t=0
  for p in $(tree "$1"); do
    t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$p/stat" 2>/dev/null ||
      echo 0)))
  done
  echo "$t"
}

# pss PID: proportional set size (KiB) of PID and its descendants; shared
# pages are split between the processes that map them, so the sum is fair.
pss() {
  local p s=0
  for p in $(tree "$1"); do
    s=$((s + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$s"
}

# sample_pss PID OUT: records the highest pss of PID every 0.25 s until
# killed.
sample_pss() {
  local max=0 v
  while :; do
    v=$(pss "$1")
    [ "$v" -gt "$max" ] && max=$v && echo "$max" >"$2"
    sleep 0.25
  done
}

drain_postfix() {
  for _ in $(seq 600); do
    [ -z "$(find /var/spool/postfix/{incoming,active,deferred} -type f 2>/dev/null | head -1)" ] &&
      return 0
    sleep 0.1
  done
  echo "postfix queue did not drain" >&2
}

RESULTS=$WORK/results.txt
: >"$RESULTS"

# record NAME SIZE ROUND BENCH_LINE CPU_S RSS_KIB EXTRA
record() {
  local rate server_cpu
  rate=$(sed -n 's/.* rate=\([0-9.]*\) .*/\1/p' <<<"$4")
  server_cpu=$(sed -n 's/.* server_cpu=\([-0-9.]*\)s.*/\1/p' <<<"$4")
  echo "$1 $2 $3 rate=$rate cpu=$5 rss_kib=$6 machine_server_cpu=$server_cpu $7" | tee -a "$RESULTS"
}

bench() { MSGS=$MSGS RUNS=1 bash "$PEERS/smtp-bench.sh" 127.0.0.1 "$1" "$2" | head -1; }

run_sink() {
  record sink "$1" "$2" "$(bench "$SINK_PORT" "$1")" - - ""
}

run_postfix() {
  local size=$1 round=$2 t0 t1 line d0 td peak
  drain_postfix
  rm -f "$MAILDIR"/new/* "$MAILDIR"/cur/* 2>/dev/null || true
  echo 0 >"$WORK/pss"
  sample_pss "$POSTFIX_MASTER" "$WORK/pss" &
  local sampler=$!
  t0=$(ticks "$POSTFIX_MASTER")
  line=$(bench "$POSTFIX_PORT" "$size")
  t1=$(ticks "$POSTFIX_MASTER")
  d0=$(date +%s.%N)
  drain_postfix
  td=$(ticks "$POSTFIX_MASTER")
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  peak=$(cat "$WORK/pss")
  record postfix "$size" "$round" "$line" \
    "$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')" "$peak" \
    "$(awk -v a="$t0" -v b="$td" -v hz="$HZ" -v d0="$d0" -v d1="$(date +%s.%N)" \
      'BEGIN{printf "cpu_with_delivery=%.2f drain_s=%.2f", (b-a)/hz, d1-d0}') \
delivered=$(find "$MAILDIR/new" -type f | wc -l)"
}

# run_lightr NAME STORE SIZE ROUND
run_lightr() {
  local t0 t1 line hwm
  start_lightr "$2"
  t0=$(ticks "$LIGHTR_PID")
  line=$(bench "$LPORT" "$3")
  t1=$(ticks "$LIGHTR_PID")
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$LIGHTR_PID/status")
  stop_lightr
  record "$1" "$3" "$4" "$line" \
    "$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')" "$hwm" \
    "stored=$(sqlite_count "$WORK/data")"
}

# sqlite_count DIR: messages in the store, through the GraphQL-free CLI if
# it can tell, else "?".
sqlite_count() {
  if command -v sqlite3 >/dev/null; then
    sqlite3 "$1/lightr.db" 'SELECT count(*) FROM messages' 2>/dev/null || echo '?'
  else
    echo '?'
  fi
}

log "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
{
  echo "code $REV, $(go version | cut -d' ' -f3), $(/usr/sbin/postconf -h mail_version 2>/dev/null | sed 's/^/postfix /')"
  echo "machine nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RESULTS"

# Warm-up, not recorded: page cache, Postfix's processes, Lightr's binary.
log "warm-up"
MSGS=200 bench "$POSTFIX_PORT" 4096 >/dev/null
start_lightr "$WORK/empty"
MSGS=200 bench "$LPORT" 4096 >/dev/null
stop_lightr

for size in $SIZES; do
  for round in $(seq "$RUNS"); do
    log "size $size round $round"
    run_sink "$size" "$round"
    run_postfix "$size" "$round"
    run_lightr lightr "$WORK/empty" "$size" "$round"
  done
done

# --- 20,000 messages stored --------------------------------------------------
log "preload $PRELOAD messages"
start_lightr "$WORK/empty"
MSGS=$PRELOAD RUNS=1 TIMEOUT=900 bash "$PEERS/smtp-bench.sh" 127.0.0.1 "$LPORT" 4096 | tee -a "$RESULTS" >&2
stop_lightr
rm -rf "$WORK/stored"
cp -a "$WORK/data" "$WORK/stored"
echo "preloaded stored=$(sqlite_count "$WORK/stored")" >>"$RESULTS"

for round in $(seq "$RUNS"); do
  log "stored comparison round $round"
  run_lightr lightr-empty "$WORK/empty" 4096 "$round"
  run_lightr lightr-stored "$WORK/stored" 4096 "$round"
done
echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"

# --- summary: medians --------------------------------------------------------
echo
echo "median of $RUNS runs, $MSGS messages each, 20 sessions"
awk '
  $1 ~ /^(sink|postfix|lightr)/ {
    k = $1 " " $2; keys[k] = 1; n[k]++
    for (i = 4; i <= NF; i++) { split($i, kv, "="); v[k, kv[1], n[k]] = kv[2]; f[kv[1]] = 1 }
  }
  function median(k, name,   a, i, j, t, m) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, name, i]
    if (a[1] == "-" || a[1] == "") return "-"
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((m + 1) / 2)]
  }
  END {
    printf "%-14s %7s %9s %7s %9s %12s %9s\n", "server", "size", "msg/s", "cpu_s", "rss_kib", "machine_cpu", "cpu+deliv"
    for (k in keys) {
      split(k, p, " ")
      printf "%-14s %7s %9s %7s %9s %12s %9s\n", p[1], p[2], median(k, "rate"), median(k, "cpu"),
        median(k, "rss_kib"), median(k, "machine_server_cpu"), median(k, "cpu_with_delivery")
    }
  }' "$RESULTS" | sort -k2,2n -k1,1 | tee "$WORK/medians.txt"
echo
awk '{r[$1 " " $2] = $3}
  END {
    for (k in r) { split(k, p, " "); if (p[1] == "lightr" && r["postfix " p[2]] > 0)
      printf "lightr/postfix at %s bytes: %.2fx\n", p[2], r[k] / r["postfix " p[2]] }
    if (r["lightr-empty 4096"] > 0)
      printf "stored/empty at 4096 bytes: %.2f\n", r["lightr-stored 4096"] / r["lightr-empty 4096"]
  }' "$WORK/medians.txt"
echo
echo "raw results:"
cat "$RESULTS"
