#!/bin/sh
# Webhook deliveries per second to a loopback receiver (docs/PERFORMANCE.md).
set -eu
cd "$(dirname "$0")/../.."
go build -o /tmp/lightr-bench-webhooks ./bench/webhooks
for w in 8 32; do
	/tmp/lightr-bench-webhooks -events "${EVENTS:-5000}" -workers "$w"
done
