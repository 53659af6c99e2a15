#!/usr/bin/env bash
# Uploads and downloads one file (default 2048 MiB) through `cray artifacts` against a fresh
# cray-server, then prints the throughput of each direction and the server's peak RSS (VmHWM).
#   bench/artifacts-transfer.sh [SIZE_MIB]
#   BENCH_ARTIFACTS=s3 bench/artifacts-transfer.sh   (through a private Ceph RADOS Gateway)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib="${1:-2048}"

source bench/lib.sh
start_bench_server

echo "Writing a ${size_mib} MiB file of random bytes..."
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/payload"
idle_rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

start=$(date +%s.%N)
cray artifacts create boot-images bench/payload "$work/payload" --quiet >/dev/null
uploaded=$(date +%s.%N)
cray artifacts get boot-images bench/payload "$work/payload.out" --quiet
downloaded=$(date +%s.%N)
cmp "$work/payload" "$work/payload.out"

peak_rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
awk -v store="${BENCH_ARTIFACTS:-files}" -v size="$size_mib" -v s="$start" -v u="$uploaded" -v d="$downloaded" -v idle="$idle_rss_kib" -v peak="$peak_rss_kib" 'BEGIN {
  printf "artifact store:     %s\n", store
  printf "file size:          %d MiB\n", size
  printf "upload:             %.1f s, %.0f MiB/s\n", u - s, size / (u - s)
  printf "download:           %.1f s, %.0f MiB/s\n", d - u, size / (d - u)
  printf "server RSS at idle: %.0f MiB\n", idle / 1024
  printf "server peak RSS:    %.0f MiB (target: under 300 MiB)\n", peak / 1024
}'
