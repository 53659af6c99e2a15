#!/usr/bin/env bash
# Packs the ~2 GB bench root (bench/large-root.sh) with mksquashfs as customize jobs read it (the
# source squashfs mounted read-only, as under a job's overlay), for several zstd levels and block
# sizes on all cores, and prints the time and size of each; then packs the default twice and
# checks that both results are the same bytes.
#   bench/pack-options.sh        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
source_image=$(bench/large-root.sh)
work=$(mktemp -d /var/tmp/cray-pack-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
cores=$(nproc)
# The mount lives in a private mount namespace: it ends with this script.
unshare --mount --propagation private -- bash -s "$source_image" "$work" "$cores" <<'INNER'
set -euo pipefail
source_image=$1 work=$2 cores=$3
mount -t squashfs -o ro,loop "$source_image" "$work/root"
echo "Source: $source_image ($(du -h "$source_image" | cut -f1) packed, $(du -sh "$work/root" | cut -f1) of files), $cores cores"
printf '%-10s %-6s %9s %12s\n' compressor block seconds bytes
for level in 1 3 6 9; do
  for block in 128K 1M; do
    start=$(date +%s.%N)
    mksquashfs "$work/root" "$work/result.squashfs" -noappend -no-progress -quiet -comp zstd -Xcompression-level "$level" -b "$block" -processors "$cores" >/dev/null
    end=$(date +%s.%N)
    printf '%-10s %-6s %9.1f %12d\n' "zstd-$level" "$block" "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" "$(stat --format=%s "$work/result.squashfs")"
  done
done
start=$(date +%s.%N)
mksquashfs "$work/root" "$work/result.squashfs" -noappend -no-progress -quiet -comp gzip -processors "$cores" >/dev/null
end=$(date +%s.%N)
printf '%-10s %-6s %9.1f %12d\n' gzip 128K "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" "$(stat --format=%s "$work/result.squashfs")"
for attempt in 1 2; do
  mksquashfs "$work/root" "$work/again-$attempt.squashfs" -noappend -no-progress -quiet -comp zstd -Xcompression-level 3 -processors "$cores" -mkfs-time 0 >/dev/null
done
cmp -s "$work/again-1.squashfs" "$work/again-2.squashfs" && echo "Packed twice with -mkfs-time 0: identical bytes" || echo "Packed twice with -mkfs-time 0: DIFFERENT bytes"
INNER
