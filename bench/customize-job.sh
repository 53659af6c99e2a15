#!/usr/bin/env bash
# Runs one jailed customize job on the cached Debian base image (~224 MB unpacked) against a fresh
# cray-server and prints each phase's time from the job log, then the time of a bare mksquashfs
# with the same options on the same tree, and the ratio packaging / bare mksquashfs.
#   bench/customize-job.sh            (as root: the worker runs sshd jails)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Cray.slnx -c Release -nologo -v quiet >/dev/null
server_dll=src/Cray.Server/bin/Release/net10.0/cray-server.dll
cli_dll=src/Cray.Cli/bin/Release/net10.0/cray.dll
base_image=$(scripts/base-image.sh)

# Under /var/lib, not /tmp: OpenSSH jails only below root-owned, non-world-writable directories.
work=$(mktemp -d /var/lib/cray-bench.XXXXXX)
chmod 755 "$work"
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

image_id=$(cray ims images import --name bench-base --rootfs "$base_image" --format json --quiet | jq -r .id)
ssh-keygen -q -t ed25519 -N "" -f "$work/key"
key_id=$(cray ims public-keys create --name bench --public-key "$work/key.pub" --format json | jq -r .id)
job_id=$(cray ims jobs create --job-type customize --artifact-id "$image_id" --image-root-archive-name bench-result \
  --public-key-id "$key_id" --ssh-containers-jail True --format json | jq -r .id)
port_ssh=$(cray ims jobs wait "$job_id" --until waiting_on_user --format json --quiet | jq -r '.ssh_containers[0].connection_info.customer_access.port')
ssh -i "$work/key" -p "$port_ssh" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes \
  root@127.0.0.1 'touch /tmp/complete'
cray ims jobs wait "$job_id" --format json --quiet | jq -r '"job \(.id): \(.status), result \(.resultant_image_id)"'

echo
echo "Phases (from the job log):"
cray ims jobs logs "$job_id" | sed -n 's/^.* Phase \(.*\) finished in \(.*\)\.$/  \1: \2/p; s/^.* mksquashfs \(.*\) took \(.*\): \(.*\)$/    mksquashfs \1 inside packaging: \2 (\3)/p'
packaging=$(cray ims jobs logs "$job_id" | sed -n 's/^.* Phase packaging_artifacts finished in \([0-9.]*\) s\.$/\1/p')

echo
tree="$work/tree"
unsquashfs -no-progress -quiet -dest "$tree" "$base_image" >/dev/null
du_mb=$(du -sm "$tree" | cut -f1)
# The median of three runs, as the job's own run is one sample in a warm page cache too.
bare_times=()
for _ in 1 2 3; do
  start=$(date +%s.%N)
  mksquashfs "$tree" "$work/bare.squashfs" -noappend -no-progress -quiet -comp zstd -processors "$(nproc)" -Xcompression-level 3 >/dev/null
  end=$(date +%s.%N)
  bare_times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
done
bare=$(printf '%s\n' "${bare_times[@]}" | sort -n | sed -n 2p)
awk -v bare="$bare" -v all="${bare_times[*]}" -v p="$packaging" -v mb="$du_mb" 'BEGIN {
  printf "Bare mksquashfs (zstd level 3, all cores) of the same %d MB tree: median %.2f s of %s\n", mb, bare, all
  printf "Packaging / bare mksquashfs: %.2f (target: at most 1.5)\n", p / bare
}'
