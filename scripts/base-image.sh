#!/usr/bin/env bash
# Prints the path of a small Debian 12 root file system with python3 (Ansible needs it), packed as
# squashfs. Built once with mmdebstrap and cached; later calls reuse the cache.
#   scripts/base-image.sh            build if needed, print the path
set -euo pipefail
cache_dir="${CRAY_BASE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cray-base-image}"
image="$cache_dir/debian-bookworm-python3.squashfs"
if [ -f "$image" ]; then
  echo "$image"
  exit 0
fi
mkdir -p "$cache_dir"
staging=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
trap 'rm -rf "$staging" "$image.partial"' EXIT
echo "Building a Debian 12 root file system with python3 (mmdebstrap, about 20 s; cached in $cache_dir)" >&2
mmdebstrap --quiet --variant=minbase --include=python3 bookworm "$staging" >&2
mksquashfs "$staging" "$image.partial" -noappend -no-progress -quiet -comp zstd -Xcompression-level 3 >&2
mv "$image.partial" "$image"
echo "$image"
