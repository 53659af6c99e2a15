#!/usr/bin/env bash
# Uploads and downloads one file (default 2048 MiB) through `cray artifacts` against a fresh
# cray-server, then prints the throughput of each direction and the server's peak RSS (VmHWM).
#   bench/artifacts-transfer.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib="${1:-2048}"

dotnet build Cray.slnx -c Release -nologo -v quiet >/dev/null
server_dll=src/Cray.Server/bin/Release/net10.0/cray-server.dll
cli_dll=src/Cray.Cli/bin/Release/net10.0/cray.dll

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dotnet "$server_dll" --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/apis/ims/healthz/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
export CRAY_CONFIG_DIR="$work/config"
cray() { dotnet "$cli_dll" "$@"; }
cray init --hostname "127.0.0.1:$port" --no-auth >/dev/null

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
awk -v size="$size_mib" -v s="$start" -v u="$uploaded" -v d="$downloaded" -v idle="$idle_rss_kib" -v peak="$peak_rss_kib" 'BEGIN {
  printf "file size:          %d MiB\n", size
  printf "upload:             %.1f s, %.0f MiB/s\n", u - s, size / (u - s)
  printf "download:           %.1f s, %.0f MiB/s\n", d - u, size / (d - u)
  printf "server RSS at idle: %.0f MiB\n", idle / 1024
  printf "server peak RSS:    %.0f MiB (target: under 300 MiB)\n", peak / 1024
}'
