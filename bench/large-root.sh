#!/usr/bin/env bash
# Prints the path of a ~2 GB root file system packed as squashfs (zstd level 3): the cached Debian
# base image plus copies of the host's /usr/lib/x86_64-linux-gnu, /usr/lib/python3 and /usr/lib/gcc
# under /opt/bulk, the size of a real compute image's root. Built once and cached beside the base image.
set -euo pipefail
cd "$(dirname "$0")/.."
base_image=$(scripts/base-image.sh)
cache_dir=$(dirname "$base_image")
image="$cache_dir/large-root.squashfs"
if [ -f "$image" ]; then
  echo "$image"
  exit 0
fi
staging=$(mktemp -d "$cache_dir/large-root.XXXXXX")
trap 'rm -rf "$staging" "$image.partial"' EXIT
echo "Building a ~2 GB root file system (cached in $cache_dir)" >&2
unsquashfs -q -no-progress -d "$staging/root" "$base_image" >/dev/null
mkdir -p "$staging/root/opt/bulk"
for source in /usr/lib/x86_64-linux-gnu /usr/lib/python3 /usr/lib/gcc; do
  cp -a "$source" "$staging/root/opt/bulk/$(basename "$source")"
done
du -sh "$staging/root" >&2
mksquashfs "$staging/root" "$image.partial" -noappend -no-progress -quiet -comp zstd -Xcompression-level 3 >&2
mv "$image.partial" "$image"
echo "$image"
