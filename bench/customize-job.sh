#!/usr/bin/env bash
# Runs one jailed customize job on the cached Debian base image (~224 MB unpacked) against a fresh
# cray-server and prints each phase's time from the job log, then the time of a bare mksquashfs
# with the same options on the same tree, and the ratio packaging / bare mksquashfs.
#   bench/customize-job.sh            (as root: the worker runs sshd jails)
set -euo pipefail
cd "$(dirname "$0")/.."
base_image=$(scripts/base-image.sh)

source bench/lib.sh
start_bench_server

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
cray ims jobs logs "$job_id" | sed -n 's/^.* Phase \(.*\) finished in \(.*\)\.$/  \1: \2/p; s/^.* \(Packed .*\)$/    \1/p; s/^.* \(Packing with mksquashfs .*\)$/    \1/p'
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
