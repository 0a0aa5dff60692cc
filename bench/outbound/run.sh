#!/bin/bash
# Outbound, queue to wire: Lightr beside Postfix (issue 5). README.md here
# says what is measured; docs/PERFORMANCE.md has the figures.
#
#   sudo bash bench/outbound/run.sh        # or, as root: make -C bench outbound
#   N=2000 ROUNDS=3 bash bench/outbound/run.sh
#
# Both servers start each round with the same N messages (SIZE bytes, one
# recipient each, spread over RCPT_DOMAINS domains) already queued, and
# the clock runs until every message has been accepted by smtp-sink
# (127.0.0.1:2500, ../shared/peers/start.sh):
#
# - Lightr: a fresh copy of a data directory whose queue bench/outbound/fill
#   filled through mail/outbox.Queue while no server ran, served by
#   `bin/lightr serve` with the smarthost 127.0.0.1:2500 (tls none). Its
#   workers sign each message with the sending domain's RSA-2048 DKIM key
#   as they send it. Done when the log holds N "delivery" lines with
#   status=delivered; the database is checked afterwards.
# - Postfix: the reference Postfix with relayhost [127.0.0.1]:2500. The
#   messages come in over SMTP on an extra smtpd (127.0.0.1:2527) that
#   passes them through OpenDKIM (RSA-2048) and puts them on hold; the
#   clock starts at `postsuper -H ALL; postqueue -f` and stops when the
#   queue is empty and the log holds N status=sent lines. Postfix signs as
#   mail comes in, so its signing is outside the clock: the injection's
#   time and CPU (OpenDKIM's included) are reported beside it.
#
# Rounds alternate Lightr and Postfix (ABAB). Everything listens on
# 127.0.0.1, every wait is bounded (TIMEOUT seconds), and the script stops
# what it started, by PID, and restores Postfix's main.cf and master.cf.
#
# Environment: N (10000), SIZE (4096), ROUNDS (3), RCPT_DOMAINS (50),
# WORKERS and PER_DOMAIN (Lightr's outbound.workers and max_per_domain;
# empty keeps the defaults, 32 and 20), TIMEOUT (600), PROFILE=FILE (one
# more Lightr run under bench/smtpaccept/profserve, CPU profile to FILE),
# KEEP=1 keeps the temporary directory, ONLY=lightr skips the Postfix
# rounds (for profiling; no comparison then), PRESIGN=false queues the
# messages unsigned, so that Lightr's workers sign them as they send.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
N=${N:-10000}
SIZE=${SIZE:-4096}
ROUNDS=${ROUNDS:-3}
PRESIGN=${PRESIGN:-true}
RCPT_DOMAINS=${RCPT_DOMAINS:-50}
TIMEOUT=${TIMEOUT:-600}
SINK_PORT=2500
INJECT_PORT=2527
MILTER_PORT=8891
LBASE=2640 # Lightr's listeners: SMTP, submission, IMAP, HTTP
HZ=$(getconf CLK_TCK)
SPOOL=/var/spool/postfix
PFLOG=/var/log/postfix.log

[ "$(id -u)" -eq 0 ] || { echo "run as root (Postfix, OpenDKIM)" >&2; exit 2; }
command -v opendkim >/dev/null || { echo "opendkim missing: apt-get install opendkim opendkim-tools" >&2; exit 2; }
command -v opendkim-genkey >/dev/null || { echo "opendkim-genkey missing: apt-get install opendkim-tools" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lightr-outbound.XXXXXX)
LIGHTR_PID=
DKIM_PID=
SAMPLER=
PEERS_STARTED=
POSTFIX_CHANGED=
cleanup() {
  set +e
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
  [ -n "$LIGHTR_PID" ] && kill "$LIGHTR_PID" 2>/dev/null && wait "$LIGHTR_PID" 2>/dev/null
  if [ -n "$POSTFIX_CHANGED" ]; then
    cp "$WORK/main.cf.orig" /etc/postfix/main.cf
    cp "$WORK/master.cf.orig" /etc/postfix/master.cf
    postsuper -d ALL hold >/dev/null 2>&1 || true
    postfix reload >/dev/null 2>&1 || true
  fi
  [ -n "$DKIM_PID" ] && kill "$DKIM_PID" 2>/dev/null
  [ -n "$PEERS_STARTED" ] && bash "$PEERS/start.sh" stop >/dev/null 2>&1
  [ "${KEEP:-}" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "# $*" >&2; }

# wait_for SECONDS CMD...: runs CMD every 0.05 s until it succeeds.
wait_for() {
  local end
  end=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || { echo "timed out: $*" >&2; return 1; }
    sleep 0.05
  done
}
listening() { ss -ltn | grep -q "127.0.0.1:$1 "; }

# --- build and set up Lightr -------------------------------------------------
cd "$ROOT"
if git rev-parse --git-dir >/dev/null 2>&1; then
  REV=$(git rev-parse --short HEAD)
  git diff --quiet HEAD -- . || REV="$REV+changes"
else
  REV=${REV:-unknown}
fi
log "build $REV"
CGO_ENABLED=0 go build -o bin/lightr ./cmd/lightr
go build -o "$WORK/fill" ./bench/outbound/fill
LIGHTR=$ROOT/bin/lightr
FILL=$WORK/fill

export LIGHTR_SMTP_ADDR=127.0.0.1:$LBASE
export LIGHTR_SUBMISSION_ADDR=127.0.0.1:$((LBASE + 1))
export LIGHTR_IMAP_ADDR=127.0.0.1:$((LBASE + 2))
export LIGHTR_HTTP_ADDR=127.0.0.1:$((LBASE + 3))
export LIGHTR_SMTP_DOMAIN=mx.send.bench.test
export LIGHTR_OUTBOUND_SMARTHOST_HOST=127.0.0.1
export LIGHTR_OUTBOUND_SMARTHOST_PORT=$SINK_PORT
export LIGHTR_OUTBOUND_SMARTHOST_TLS=none
[ -n "${WORKERS:-}" ] && export LIGHTR_OUTBOUND_WORKERS=$WORKERS
[ -n "${PER_DOMAIN:-}" ] && export LIGHTR_OUTBOUND_MAX_PER_DOMAIN=$PER_DOMAIN
CONF=$WORK/lightr.yaml
lightr() { "$LIGHTR" --config "$CONF" "$@"; }

lightr init --data-dir "$WORK/queued" >/dev/null 2>&1
ORG=$(lightr add-org --name Bench 2>/dev/null)
lightr add-domain --org "$ORG" --name send.bench.test >/dev/null 2>&1
lightr dkim-gen --domain send.bench.test --algorithm rsa --bits 2048 >"$WORK/lightr-dkim.txt" 2>/dev/null
log "queue $N messages of $SIZE bytes into Lightr"
"$FILL" -config "$CONF" -n "$N" -size "$SIZE" -rcpt-domains "$RCPT_DOMAINS" -presign="$PRESIGN" 2>&1 | tee "$WORK/fill-lightr.txt" >&2
LIGHTR_FILL=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$WORK/fill-lightr.txt")
LIGHTR_FILL_CPU=$(sed -n 's/.*fill: cpu \([0-9.]*\) s$/\1/p' "$WORK/fill-lightr.txt")

# --- peers, OpenDKIM and Postfix's relay set-up -----------------------------
listening 2525 || PEERS_STARTED=1
if [ ! -f /etc/postfix/main.cf ]; then
  cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
fi
if ! postconf -h virtual_mailbox_domains 2>/dev/null | grep -q bench.test; then
  log "configure Postfix with start.sh's set-up"
  bash -c "source <(sed '/^case /,\$d' '$PEERS/start.sh'); setup_postfix"
fi
bash "$PEERS/start.sh" start >/dev/null
wait_for 10 listening 2525
wait_for 10 listening "$SINK_PORT"

mkdir -p "$WORK/dkim"
opendkim-genkey -b 2048 -d send.bench.test -s bench -D "$WORK/dkim"
cat >"$WORK/opendkim.conf" <<CONF
Mode                s
Domain              send.bench.test
Selector            bench
KeyFile             $WORK/dkim/bench.private
Canonicalization    relaxed/relaxed
SignatureAlgorithm  rsa-sha256
Socket              inet:$MILTER_PORT@127.0.0.1
Syslog              no
RequireSafeKeys     no
CONF
opendkim -f -x "$WORK/opendkim.conf" </dev/null >"$WORK/opendkim.log" 2>&1 &
DKIM_PID=$!
wait_for 10 listening "$MILTER_PORT"

cp /etc/postfix/main.cf "$WORK/main.cf.orig"
cp /etc/postfix/master.cf "$WORK/master.cf.orig"
POSTFIX_CHANGED=1
postconf -e "relayhost = [127.0.0.1]:$SINK_PORT"
# An smtpd of its own, so that the milter and the hold touch no other
# benchmark's mail: it signs with OpenDKIM and holds every message.
cat >>/etc/postfix/master.cf <<CONF
127.0.0.1:$INJECT_PORT inet n - y - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$MILTER_PORT
  -o milter_default_action=tempfail
  -o smtpd_data_restrictions=check_client_access,static:HOLD
CONF
postfix reload >/dev/null
wait_for 10 listening "$INJECT_PORT"
POSTFIX_MASTER=$(tr -d ' ' <"$SPOOL/pid/master.pid")
{
  echo "postfix settings (as shipped unless named above):"
  postconf relayhost default_destination_concurrency_limit smtp_destination_concurrency_limit \
    default_process_limit smtp_connection_cache_on_demand qmgr_message_active_limit
} >"$WORK/postfix-settings.txt"

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

# ticks PID...: CPU ticks of the PIDs and their descendants, the reaped
# ones included (cutime, cstime): Postfix's master reaps its smtp processes.
ticks() {
  local root p t=0
  for root in "$@"; do
    for p in $(tree "$root"); do
      t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$p/stat" 2>/dev/null ||
        echo 0)))
    done
  done
  echo "$t"
}

# sample_pss PID OUT: the highest sum of the Pss (KiB) of PID and its
# descendants, every 0.25 s, until killed.
sample_pss() {
  local max=0 v p
  while :; do
    v=0
    for p in $(tree "$1"); do
      v=$((v + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    done
    [ "$v" -gt "$max" ] && max=$v && echo "$max" >"$2"
    sleep 0.25
  done
}
start_sampler() {
  echo 0 >"$WORK/pss"
  sample_pss "$1" "$WORK/pss" &
  SAMPLER=$!
}
stop_sampler() {
  kill "$SAMPLER" 2>/dev/null
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=
}

secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b - a}'; }
cpu_s() { awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN{printf "%.2f", (b - a) / hz}'; }
rate() { awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n / s}'; }

queue_files() { find "$SPOOL"/{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | wc -l; }
queue_empty() { [ "$(queue_files)" -eq 0 ]; }
held() { [ "$(find "$SPOOL/hold" -type f | wc -l)" -ge "$N" ]; }
sent_since() { tail -c +"$(($1 + 1))" "$PFLOG" | grep -c 'relay=127\.0\.0\.1\[127\.0\.0\.1\]:2500.*status=sent' || true; }
postfix_done() { [ "$(queue_files)" -eq 0 ] && [ "$(sent_since "$1")" -ge "$N" ]; }
delivered_lines() { grep -c 'msg=delivery.*status=delivered' "$1" 2>/dev/null || true; }
lightr_done() { [ "$(delivered_lines "$1")" -ge "$N" ]; }

RESULTS=$WORK/results.txt
: >"$RESULTS"

run_lightr() {
  local round=$1 t0 t1 c1 hwm out=$WORK/lightr-$1.log
  rm -rf "$WORK/data"
  cp -a "$WORK/queued" "$WORK/data"
  sync
  t0=$(date +%s.%N)
  LIGHTR_DATA_DIR=$WORK/data "$LIGHTR" --config "$CONF" serve 2>"$out" &
  LIGHTR_PID=$!
  wait_for "$TIMEOUT" lightr_done "$out"
  t1=$(date +%s.%N)
  c1=$(ticks "$LIGHTR_PID")
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$LIGHTR_PID/status")
  kill "$LIGHTR_PID"
  wait "$LIGHTR_PID" || true
  LIGHTR_PID=
  local st
  st=$(sqlite3 "$WORK/data/lightr.db" \
    "SELECT group_concat(status || '=' || n, ',') FROM
       (SELECT status, count(*) n FROM outbound_recipients GROUP BY status)")
  echo "lightr $round s=$(secs "$t0" "$t1") rate=$(rate "$(secs "$t0" "$t1")") cpu=$(cpu_s 0 "$c1")" \
    "peak_kib=$hwm fill_s=$LIGHTR_FILL fill_cpu=$LIGHTR_FILL_CPU recipients=$st" | tee -a "$RESULTS"
}

run_postfix() {
  local round=$1 i0 i1 ic0 ic1 dc0 dc1 t0 t1 c0 c1 off peak
  wait_for "$TIMEOUT" queue_empty
  # Injection: cleanup, OpenDKIM signing and the queue file, all held.
  i0=$(date +%s.%N)
  ic0=$(ticks "$POSTFIX_MASTER")
  dc0=$(ticks "$DKIM_PID")
  "$FILL" -smtp "127.0.0.1:$INJECT_PORT" -n "$N" -size "$SIZE" -rcpt-domains "$RCPT_DOMAINS" \
    -timeout "${TIMEOUT}s" 2>>"$WORK/fill-postfix.txt"
  wait_for "$TIMEOUT" held
  # OpenDKIM must have signed: look at one held message.
  postcat -hq "$(basename "$(find "$SPOOL/hold" -type f | head -1)")" >"$WORK/held.txt"
  grep -q '^DKIM-Signature: v=1; a=rsa-sha256' "$WORK/held.txt" ||
    { echo "Postfix's held message has no DKIM-Signature" >&2; return 1; }
  i1=$(date +%s.%N)
  ic1=$(ticks "$POSTFIX_MASTER")
  dc1=$(ticks "$DKIM_PID")
  sync

  # Queue to wire.
  off=$(stat -c %s "$PFLOG")
  start_sampler "$POSTFIX_MASTER"
  t0=$(date +%s.%N)
  c0=$(ticks "$POSTFIX_MASTER")
  postsuper -H ALL hold 2>/dev/null
  postqueue -f
  wait_for "$TIMEOUT" postfix_done "$off"
  t1=$(date +%s.%N)
  c1=$(ticks "$POSTFIX_MASTER")
  stop_sampler
  peak=$(cat "$WORK/pss")
  echo "postfix $round s=$(secs "$t0" "$t1") rate=$(rate "$(secs "$t0" "$t1")") cpu=$(cpu_s "$c0" "$c1")" \
    "peak_kib=$peak fill_s=$(secs "$i0" "$i1") fill_cpu=$(cpu_s "$ic0" "$ic1")" \
    "fill_opendkim_cpu=$(cpu_s "$dc0" "$dc1") sent=$(sent_since "$off")" | tee -a "$RESULTS"
}

log "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
{
  echo "code $REV, $(go version | cut -d' ' -f3), postfix $(postconf -h mail_version)," \
    "opendkim $(opendkim -V 2>&1 | sed -n 's/^opendkim: OpenDKIM Filter v//p')"
  echo "machine nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "N=$N SIZE=$SIZE RCPT_DOMAINS=$RCPT_DOMAINS presign=$PRESIGN workers=${WORKERS:-32} per_domain=${PER_DOMAIN:-20}"
  echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RESULTS"

for round in $(seq "$ROUNDS"); do
  log "round $round"
  run_lightr "$round"
  [ "${ONLY:-}" = lightr ] || run_postfix "$round"
done
echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"

if [ -n "${PROFILE:-}" ]; then
  log "profile: one more Lightr run under profserve"
  go build -o "$WORK/profserve" ./bench/smtpaccept/profserve
  rm -rf "$WORK/data"
  cp -a "$WORK/queued" "$WORK/data"
  LIGHTR_DATA_DIR=$WORK/data "$WORK/profserve" -config "$CONF" -cpuprofile "$PROFILE" 2>"$WORK/prof.log" &
  LIGHTR_PID=$!
  wait_for "$TIMEOUT" lightr_done "$WORK/prof.log"
  kill "$LIGHTR_PID"
  wait "$LIGHTR_PID" || true
  LIGHTR_PID=
  log "CPU profile in $PROFILE: go tool pprof -top $PROFILE"
fi

# --- summary: medians --------------------------------------------------------
echo
echo "median of $ROUNDS rounds, $N messages of $SIZE bytes queued, to smtp-sink"
awk '
  $1 == "lightr" || $1 == "postfix" {
    k = $1; n[k]++
    for (i = 3; i <= NF; i++) { split($i, kv, "="); v[k, kv[1], n[k]] = kv[2] }
  }
  function median(k, name,   a, i, j, t, m) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, name, i]
    if (a[1] == "") return "-"
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((m + 1) / 2)]
  }
  END {
    printf "%-8s %8s %8s %8s %9s %8s %9s %10s\n", "server", "seconds", "msg/s", "cpu_s", "peak_kib",
      "fill_s", "fill_cpu", "fill_dkim"
    for (k in n)
      printf "%-8s %8s %8s %8s %9s %8s %9s %10s\n", k, median(k, "s"), median(k, "rate"), median(k, "cpu"),
        median(k, "peak_kib"), median(k, "fill_s"), median(k, "fill_cpu"), median(k, "fill_opendkim_cpu")
    if (n["postfix"] && n["lightr"])
      printf "lightr/postfix rate: %.2fx (target: at least 1.00x)\n",
        median("lightr", "rate") / median("postfix", "rate")
  }' "$RESULTS"
echo
echo "raw results:"
cat "$RESULTS" "$WORK/postfix-settings.txt"
