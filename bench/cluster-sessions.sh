#!/usr/bin/env bash
# 8 image customization sessions over 4 images (two sessions per image, the seed's five-task layer),
# created at once on scripts/cluster.sh's layout, first with one IMS worker, then with two; prints
# the wall time of each round and the sessions per minute. Both workers share this machine's cores,
# so the second figure shows what the scheduling adds, not what a second machine would.
#   bench/cluster-sessions.sh      (as root; WORKER_SLOTS, 2 by default, is each worker's slots)
set -euo pipefail
cd "$(dirname "$0")/.."
export CLUSTER_DIR=/var/lib/cray-bench-cluster CLUSTER_NET=10.78.0 CLUSTER_NAME=crb RUNNER_SLOTS=8 LEASE_DURATION=10s
source bench/lib.sh
bench_cleanup_extra() { scripts/cluster.sh stop >/dev/null 2>&1 || true; }
eval "$(scripts/cluster.sh start)"
export CRAY_CONFIG_DIR="$work/config"
cray init --hostname "$CLUSTER_API_1" --no-auth >/dev/null

base_image=$(scripts/base-image.sh)
images=()
for index in 1 2 3 4; do
  images+=("$(cray ims images import --name "bench-$index" --rootfs "$base_image" --format json --quiet | jq -r .id)")
done
store_example_configuration

# Which worker ran each session's IMS job: "worker-1=4 worker-2=4".
jobs_per_worker() {
  local index
  for index in 0 1 2 3 4 5 6 7; do
    cray ims jobs describe "$(cray cfs v3 sessions describe "$1-$index" --format json | jq -r .status.session.ims_job)" --format json | jq -r .remote_build_node
  done | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'
}

# Creates 8 sessions at once (through api-1) and waits until all are complete.
run_round() {
  local round=$1 start end index name failed=0
  start=$(date +%s.%N)
  for index in 0 1 2 3 4 5 6 7; do
    name="$round-$index"
    cray cfs sessions create --name "$name" --configuration-name configurations-example --target-definition image \
      --target-group Compute "${images[$((index % 4))]}" --format json >/dev/null
  done
  for index in 0 1 2 3 4 5 6 7; do
    name="$round-$index"
    until [ "$(cray cfs v3 sessions describe "$name" --format json | jq -r .status.session.status)" = complete ]; do sleep 0.5; done
    [ "$(cray cfs v3 sessions describe "$name" --format json | jq -r .status.session.succeeded)" = true ] || failed=$((failed + 1))
  done
  end=$(date +%s.%N)
  local seconds
  seconds=$(echo "$end - $start" | bc)
  printf '%s: 8 sessions in %.1f s (%.1f sessions/min), %d failed; jobs per worker: %s\n' "$round" "$seconds" \
    "$(echo "8 * 60 / $seconds" | bc -l)" "$failed" "$(jobs_per_worker "$round")"
}

scripts/cluster.sh kill worker-2
echo "One worker (worker-1, ${WORKER_SLOTS:-2} slots; worker-2 killed):"
run_round one-worker
scripts/cluster.sh run worker-2 2>/dev/null
echo "Two workers (${WORKER_SLOTS:-2} slots each):"
run_round two-workers
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
