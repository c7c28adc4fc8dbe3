#!/usr/bin/env bash
# Soak: the ingest gateway under concurrent gzip bombs. Prints the gateway's resident memory before, at its peak
# (VmHWM) and once idle again after the burst. Usage: benchmarks/gateway-bombs.sh [CONCURRENT] [BOMB_GIB]
# Needs a Release build (dotnet build -c Release) and curl. Kafka is not needed: bombs are refused (413) before
# anything reaches it, so the gateway is pointed at an address where nothing listens.
set -euo pipefail
cd "$(dirname "$0")/.."
concurrent=${1:-40}
gib=${2:-1}
cli=src/LogWhisperer.Cli/bin/Release/net10.0/logwhisperer.dll
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

head -c "${gib}G" /dev/zero | gzip -1 > "$work/bomb.gz"   # ~1 MiB that inflates to $gib GiB
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dotnet "$cli" gateway -b 127.0.0.1:9 --listen "127.0.0.1:$port" --rate-limit 0 2> "$work/gateway.log" &
pid=$!
until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.2; done
rss() { awk -v k="$1:" '$1==k {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
before=$(rss VmRSS)

start=$(date +%s.%N)
for i in $(seq "$concurrent"); do
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
    --data-binary @"$work/bomb.gz" "http://127.0.0.1:$port/loki/api/v1/push" >> "$work/codes" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
peak=$(rss VmHWM)
sleep 15
idle=$(rss VmRSS)
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^logwhisperer_process_(managed_heap|resident_memory)_bytes" | sed "s/^/  /"
echo "gateway under $concurrent concurrent ${gib} GiB gzip bombs ($(du -k "$work/bomb.gz" | cut -f1) KiB each):"
echo "  answers : $(sort "$work/codes" | uniq -c | awk '{printf "%s× %s  ", $1, $2}')in ${elapsed%.*}.$(echo "$elapsed" | cut -d. -f2 | cut -c1) s"
echo "  RSS     : ${before} MB before, ${peak} MB peak, ${idle} MB idle 15 s after"
