#!/usr/bin/env bash
# The packing phase alone, before and after the incremental packer: the ~2 GB bench root
# (bench/large-root.sh) under an overlay as a customize job has it, with a small change set (the
# seed's example layer: a few files) and a large one (a 260 MB JDK added, 200 files deleted), each
# packed by mksquashfs of the merged view (zstd level 3, all cores) and by the incremental packer
# (with its check against the merged view), copying at pack time and over a copy of the source's
# data area made beforehand. The results are compared with sqfsdiff.
#   bench/incremental-pack.sh        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
source_image=$(bench/large-root.sh)
work=$(mktemp -d /var/tmp/cray-incremental-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
dotnet build bench/incremental-pack -c Release -nologo -v quiet -o "$work/tool" >/dev/null
# The mounts live in a private mount namespace: they end with this script.
unshare --mount --propagation private -- bash -s "$source_image" "$work" <<'INNER'
set -euo pipefail
source_image=$1 work=$2
seconds() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; }
run_case() {
  local name=$1 change=$2
  local case_dir="$work/$name"
  mkdir -p "$case_dir/lower" "$case_dir/upper" "$case_dir/work" "$case_dir/merged"
  mount -t squashfs -o ro,loop "$source_image" "$case_dir/lower"
  mount -t overlay overlay -o "lowerdir=$case_dir/lower,upperdir=$case_dir/upper,workdir=$case_dir/work,redirect_dir=off,metacopy=off,index=on" "$case_dir/merged"
  "$change" "$case_dir/merged"
  echo "Change set: $name ($(du -sh "$case_dir/upper" | cut -f1) in the upper directory)"
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local start end
  start=$(date +%s.%N)
  mksquashfs "$case_dir/merged" "$case_dir/full.squashfs" -noappend -no-progress -quiet -comp zstd -Xcompression-level 3 >/dev/null
  end=$(date +%s.%N)
  echo "  mksquashfs of the merged view: $(seconds "$start" "$end") s, $(( $(stat --format=%s "$case_dir/full.squashfs") / 1000000 )) MB"
  sync
  echo 3 >/proc/sys/vm/drop_caches
  dotnet "$work/tool/IncrementalPackBench.dll" "$source_image" "$case_dir/upper" "$case_dir/merged" "$case_dir/incremental.squashfs" "$case_dir/work/index"
  for result in incremental.squashfs incremental.squashfs.precopied; do
    if sqfsdiff -a "$case_dir/full.squashfs" -b "$case_dir/$result" -T >/dev/null; then
      echo "  sqfsdiff -T: $result holds the same files as mksquashfs's"
    else
      echo "  sqfsdiff -T: $result DIFFERS from mksquashfs's" && exit 1
    fi
  done
  umount "$case_dir/merged" "$case_dir/lower"
  rm -rf "$case_dir"
}
seed_change() {
  # What the seed's example layer does: a few files in /etc and a package-like marker.
  echo "customized" >"$1/etc/motd"
  echo "node" >"$1/etc/hostname"
  mkdir -p "$1/etc/cray" && echo "layer=example" >"$1/etc/cray/layer"
  touch "$1/etc/passwd"
}
large_change() {
  # A package-sized install (a JDK, not in the image) and 200 files removed.
  local added=/usr/lib/jvm/java-17-openjdk-amd64
  [ -d "$added" ] || added=/usr/lib/gcc
  mkdir -p "$1/opt/added"
  cp -a "$added/." "$1/opt/added/"
  local removed
  mapfile -t removed < <(find "$1/opt/bulk/python3" -type f | sort)
  rm -f "${removed[@]:0:200}"
}
run_case seed seed_change
run_case large large_change
INNER
