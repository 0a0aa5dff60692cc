#!/bin/bash
# Events subscription, commit to subscriber (issue 6). README.md here says
# what is measured; docs/PERFORMANCE.md has the figures.
#
#   bash bench/events/run.sh                  # or: make -C bench events
#   SUBS=200 DURATION=20s bash bench/events/run.sh
#   PROFILE=/tmp/events.pprof bash bench/events/run.sh
#
# Builds bin/lightr (CGO_ENABLED=0) and the benchmark, which sets up a
# fresh data directory with the lightr CLI, starts `bin/lightr serve` on
# 127.0.0.1, opens SUBS WebSocket subscribers and commits RATE events a
# second through the sendEmail mutation for DURATION after a 5 s warm-up.
# Everything listens on loopback and every wait is bounded; the benchmark
# stops the server it started with SIGINT. Extra flags go in ARGS
# (go run ./bench/events -h lists them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- . 2>/dev/null || REV="$REV+changes"
echo "# commit $REV, $(nproc) cores, $(go env GOVERSION), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

CGO_ENABLED=0 go build -o bin/lightr ./cmd/lightr
go build -o /tmp/lightr-bench-events ./bench/events
PROF=()
if [ -n "${PROFILE:-}" ]; then
  # A diagnostic: the server runs in-process under the CPU profiler.
  go build -o /tmp/lightr-bench-profserve ./bench/smtpaccept/profserve
  PROF=(-profserve /tmp/lightr-bench-profserve -cpuprofile "$PROFILE")
fi
# shellcheck disable=SC2086
/tmp/lightr-bench-events -lightr bin/lightr -subs "${SUBS:-1000}" -rate "${RATE:-100}" \
  -d "${DURATION:-60s}" "${PROF[@]}" ${ARGS:-}
