#!/usr/bin/env bash
# Runs the seed (an image customization CFS session with the five-task example layer) twice on
# the same image, and prints the total and per-phase times of both, beside a by-hand baseline on
# the same machine: unsquashfs, ansible-playbook over an sshd jail, mksquashfs with the same
# compressor. Targets: the first session at most 0.9x the baseline on the small image and 0.6x
# on the large one; the second session fetches nothing.
#   bench/seed-session.sh [small|large]     (as root)
#     small: the cached Debian base image (~224 MB unpacked)
#     large: bench/large-root.sh's ~2 GB root
#   CRAY_SERVER_IMS_PACK=full bench/seed-session.sh large   packs with mksquashfs, as before the
#     incremental packer (the server reads any flag from its CRAY_SERVER_* variable)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-small}
case "$size" in
  small) base_image=$(scripts/base-image.sh) ;;
  large) base_image=$(bench/large-root.sh) ;;
  *) echo "usage: bench/seed-session.sh [small|large]" >&2; exit 2 ;;
esac
echo "Image: $size ($base_image, $(du -h "$base_image" | cut -f1) packed)"
baseline_sshd=""
source bench/lib.sh
bench_cleanup_extra() {
  if [ -n "$baseline_sshd" ]; then kill "$baseline_sshd" 2>/dev/null || true; fi
}
start_bench_server

image_id=$(cray ims images import --name bench-base --rootfs "$base_image" --format json --quiet | jq -r .id)
store_example_configuration

run_session() {
  local name=$1
  local start end
  start=$(date +%s.%N)
  cray cfs sessions create --name "$name" --configuration-name configurations-example \
    --target-definition image --target-group Compute "$image_id" --wait --quiet --format json >/dev/null
  end=$(date +%s.%N)
  session_seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
  echo "Seed session $name (cray cfs sessions create ... --wait): ${session_seconds} s"
  cray cfs sessions logs "$name" | sed -n 's/^.* Phase \(.*\) finished in \(.*\)\.$/  \1: \2/p'
  local job_id
  job_id=$(cray ims jobs list --format json | jq -r 'sort_by(.created) | .[-1].id')
  cray ims jobs logs "$job_id" | sed -n 's/^.* Phase \(.*\) finished in \(.*\)\.$/    IMS job \1: \2/p'
  cray ims jobs logs "$job_id" | sed -n 's/^.* \(Packed .*\)$/    IMS job: \1/p; s/^.* \(Packing with mksquashfs .*\)$/    IMS job: \1/p'
  cray ims jobs logs "$job_id" | sed -n 's/^.* \(Source .*\)$/    IMS job: \1/p'
}
run_session first
first_seconds=$session_seconds
run_session second
second_seconds=$session_seconds

echo
echo "By hand on the same machine:"
tree="$work/baseline/image-root"
mkdir -p "$work/baseline"
chmod 755 "$work/baseline"
t0=$(date +%s.%N)
unsquashfs -no-progress -quiet -dest "$tree" "$base_image" >/dev/null
t1=$(date +%s.%N)
ssh-keygen -q -t ed25519 -N "" -f "$work/baseline/host_key"
ssh-keygen -q -t ed25519 -N "" -f "$work/baseline/user_key"
cp "$work/baseline/user_key.pub" "$work/baseline/authorized_keys"
chmod 600 "$work/baseline/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/baseline/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $work/baseline/host_key
PidFile $work/baseline/sshd.pid
AuthorizedKeysFile $work/baseline/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
Subsystem sftp internal-sftp
ChrootDirectory $tree
CONFIG
mkdir -p /run/sshd
/usr/sbin/sshd -D -f "$work/baseline/sshd_config" &
baseline_sshd=$!
until ssh -i "$work/baseline/user_key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 true 2>/dev/null; do sleep 0.1; done
printf '{"all":{"children":{"Compute":{"hosts":{"image":{"ansible_host":"127.0.0.1","ansible_port":%s,"ansible_user":"root","ansible_ssh_private_key_file":"%s","ansible_python_interpreter":"/usr/bin/env python3"}}}}}}\n' \
  "$port" "$work/baseline/user_key" >"$work/baseline/inventory.json"
printf '[defaults]\nhost_key_checking = False\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\ncontrol_path_dir = /tmp/bench-cp\n' >"$work/baseline/ansible.cfg"
t2=$(date +%s.%N)
ANSIBLE_CONFIG="$work/baseline/ansible.cfg" ansible-playbook -i "$work/baseline/inventory.json" examples/ansible-example/site.yml >/dev/null
t3=$(date +%s.%N)
kill "$baseline_sshd"
baseline_sshd=""
t4=$(date +%s.%N)
mksquashfs "$tree" "$work/baseline/result.squashfs" -noappend -no-progress -quiet -comp zstd -processors "$(nproc)" -Xcompression-level 3 >/dev/null
t5=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v t5="$t5" -v session="$first_seconds" -v second="$second_seconds" -v target="$([ "$size" = large ] && echo 0.6 || echo 0.9)" 'BEGIN {
  baseline = (t1 - t0) + (t3 - t2) + (t5 - t4)
  printf "  unsquashfs: %.1f s\n  ansible-playbook over the jail: %.1f s\n  mksquashfs (zstd level 3): %.1f s\n", t1 - t0, t3 - t2, t5 - t4
  printf "  baseline total: %.1f s\n\nFirst session / baseline: %.2f (target: at most %s)\nSecond session / baseline: %.2f\n", baseline, session / baseline, target, second / baseline
}'
