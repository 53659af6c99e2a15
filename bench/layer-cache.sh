#!/usr/bin/env bash
# Layer checkpoints (#16): a three-layer configuration on one image, run three times:
#   1. cold: every layer runs and is sealed into the layer cache;
#   2. layer 3 at a new commit: layers 1 and 2 are restored from the cache, only layer 3 runs;
#   3. nothing changed: all three restored, no Ansible runs.
# Prints each session's time (cray cfs sessions create ... --wait) and its phases, and the IMS
# job's layer lines. Layer 1 writes 200 MB of files and edits /etc, layer 2 is the seed's
# five-task example, layer 3 writes one file whose text the new commit changes.
#   bench/layer-cache.sh [small|large]     (as root)
#     small: the cached Debian base image; large: bench/large-root.sh's ~2 GB root
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-large}
case "$size" in
  small) base_image=$(scripts/base-image.sh) ;;
  large) base_image=$(bench/large-root.sh) ;;
  *) echo "usage: bench/layer-cache.sh [small|large]" >&2; exit 2 ;;
esac
echo "Image: $size ($base_image, $(du -h "$base_image" | cut -f1) packed)"
source bench/lib.sh
start_bench_server

image_id=$(cray ims images import --name bench-base --rootfs "$base_image" --format json --quiet | jq -r .id)

repo="$work/layers-repo"
mkdir -p "$repo"
cat >"$repo/layer1.yml" <<'PLAYBOOK'
- hosts: Compute
  gather_facts: false
  tasks:
    - name: Tools a site adds (200 MB in 20 files)
      ansible.builtin.shell: |
        mkdir -p /opt/site-tools
        for i in $(seq 1 20); do head -c 10485760 /dev/urandom > /opt/site-tools/tool-$i; done
      args: { creates: /opt/site-tools/tool-20 }
    - ansible.builtin.lineinfile: { path: /etc/environment, line: "SITE_TOOLS=/opt/site-tools", create: true }
    - ansible.builtin.copy: { dest: /etc/motd, content: "Managed by CFS\n" }
PLAYBOOK
cp examples/ansible-example/site.yml "$repo/layer2.yml"
printf -- '- hosts: Compute\n  gather_facts: false\n  tasks:\n    - ansible.builtin.copy: { dest: /etc/site-release, content: "release 1\\n" }\n' >"$repo/layer3.yml"
git -C "$repo" init -q -b main
git -C "$repo" add .
git -C "$repo" -c user.name=b -c user.email=b@example.com commit -q -m first
first=$(git -C "$repo" rev-parse HEAD)

configure() {
  printf '{"layers":[{"name":"tools","clone_url":"%s","commit":"%s","playbook":"layer1.yml"},{"name":"example","clone_url":"%s","commit":"%s","playbook":"layer2.yml"},{"name":"release","clone_url":"%s","commit":"%s","playbook":"layer3.yml"}]}\n' \
    "$repo" "$first" "$repo" "$first" "$repo" "$1" >"$work/configuration.json"
  cray cfs v3 configurations update three-layers --file "$work/configuration.json" >/dev/null
}

run_session() {
  local name=$1 start end
  start=$(date +%s.%N)
  cray cfs sessions create --name "$name" --configuration-name three-layers \
    --target-definition image --target-group Compute "$image_id" --wait --quiet --format json >/dev/null
  end=$(date +%s.%N)
  session_seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
  echo "Session $name: ${session_seconds} s"
  cray cfs sessions logs "$name" | sed -n 's/^.* Phase \(.*\) finished in \(.*\)\.$/  \1: \2/p; s/^.* \(Layer [0-9]* (.*) reused from the layer cache.*\)$/  \1/p'
  local job_id
  job_id=$(cray ims jobs list --format json | jq -r 'sort_by(.created) | .[-1].id')
  cray ims jobs logs "$job_id" | sed -n 's/^.* \(Layer [0-9]* \(restored\|packed\|stored\|sealed\).*\)$/    IMS job: \1/p; s/^.* \(Packed .*\)$/    IMS job: \1/p; s/^.* Phase \(.*\) finished in \(.*\)\.$/    IMS job \1: \2/p'
}

configure "$first"
run_session cold
cold=$session_seconds

printf -- '- hosts: Compute\n  gather_facts: false\n  tasks:\n    - ansible.builtin.copy: { dest: /etc/site-release, content: "release 2\\n" }\n' >"$repo/layer3.yml"
git -C "$repo" -c user.name=b -c user.email=b@example.com commit -q -am second
configure "$(git -C "$repo" rev-parse HEAD)"
run_session layer-three-changed
changed=$session_seconds

run_session nothing-changed
unchanged=$session_seconds

echo
echo "Layer cache: $(cray cfs cache list --format json | jq -r '"\(.entries | length) entries, \(.total_bytes) bytes"')"
awk -v cold="$cold" -v changed="$changed" -v unchanged="$unchanged" 'BEGIN {
  printf "Only layer 3 changed: %.1f s against %.1f s cold (%.2fx)\nNothing changed: %.1f s (%.2fx)\n", changed, cold, changed / cold, unchanged, unchanged / cold
}'
