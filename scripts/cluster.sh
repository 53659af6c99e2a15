#!/usr/bin/env bash
# A cluster on one machine, as a site would run cray-server on several: PostgreSQL, a Ceph RADOS
# Gateway and five cray-server processes, each server in its own network namespace on a private
# bridge (so each has its own addresses and loopback, as a machine does):
#
#   api-1   10.77.0.11  --roles api          https://10.77.0.11:8280
#   api-2   10.77.0.12  --roles api          https://10.77.0.12:8280
#   worker-1 10.77.0.21 --roles ims-worker   (job sshd on its address)
#   worker-2 10.77.0.22 --roles ims-worker
#   runner-1 10.77.0.31 --roles cfs-runner   (reaches IMS at api-1)
#
# PostgreSQL and the gateway listen on the bridge's host address (10.77.0.1); the API servers speak
# HTTPS with a self-signed certificate and want tokens, as any server off loopback must.
#
#   scripts/cluster.sh start        build if needed, start everything, print the export lines of env
#   scripts/cluster.sh env          export lines: CLUSTER_API_1, CLUSTER_API_2, CRAY_CREDENTIALS, ...
#   scripts/cluster.sh status       each part: running or not
#   scripts/cluster.sh kill NAME    kill -9 one server (a lost machine)
#   scripts/cluster.sh run NAME     start one server again
#   scripts/cluster.sh stop         stop everything, remove the namespaces, the bridge and the state
#
# Then, on the host:
#   eval "$(scripts/cluster.sh env)"
#   cray init --hostname "$CLUSTER_API_1" --no-auth     # every command then sends $CRAY_CREDENTIALS
#   cray ims remote-build-nodes status list --format json
#
# Environment: CLUSTER_DIR (state; /var/lib/cray-cluster), CLUSTER_NET (first three octets of the
# private /24; 10.77.0), CLUSTER_NAME (prefix of the bridge and namespaces; cray), SERVER_DLL (the
# cray-server.dll to run; the Release build), LEASE_DURATION (the workers' and runner's
# --lease-duration; 60s), WORKER_SLOTS (each worker's --ims-worker-slots; 2), RUNNER_SLOTS (the
# runner's --cfs-runner-slots; 2), START_TIMEOUT (seconds each server may take to answer; 180),
# PG_PORT (15432), RGW_PORT / MON_PORT / MON_V2_PORT / OSD_PORT_MIN / OSD_PORT_MAX (the gateway's;
# 17580 / 16889 / 13400 / 16950 / 17050). Runs as root (namespaces, the IMS workers). The namespaces
# have no route beyond the bridge: jobs and playbooks reach the host's bridge address, not the
# internet.
set -euo pipefail

cd "$(dirname "$0")/.."
REPOSITORY=$(pwd)
CLUSTER_DIR="${CLUSTER_DIR:-/var/lib/cray-cluster}"
CLUSTER_NET="${CLUSTER_NET:-10.77.0}"
CLUSTER_NAME="${CLUSTER_NAME:-cray}"
SERVER_DLL="${SERVER_DLL:-$REPOSITORY/src/Cray.Server/bin/Release/net10.0/cray-server.dll}"
LEASE_DURATION="${LEASE_DURATION:-60s}"
WORKER_SLOTS="${WORKER_SLOTS:-2}"
RUNNER_SLOTS="${RUNNER_SLOTS:-2}"
# A busy machine (a whole test suite beside the cluster on two cores) can take minutes to start five servers.
START_TIMEOUT="${START_TIMEOUT:-180}"
PG_PORT="${PG_PORT:-15432}"
export RGW_PORT="${RGW_PORT:-17580}" MON_PORT="${MON_PORT:-16889}" MON_V2_PORT="${MON_V2_PORT:-13400}"
export OSD_PORT_MIN="${OSD_PORT_MIN:-16950}" OSD_PORT_MAX="${OSD_PORT_MAX:-17050}"
export CEPH_DIR="$CLUSTER_DIR/ceph" OSD_STORE=memstore RGW_EXTRA_ADDRESS="$CLUSTER_NET.1"
BRIDGE="${CLUSTER_NAME}br0"
HOST_ADDRESS="$CLUSTER_NET.1"
API_PORT=8280
# name role last-octet
SERVERS=("api-1 api 11" "api-2 api 12" "worker-1 ims-worker 21" "worker-2 ims-worker 22" "runner-1 cfs-runner 31")

log() { echo "cluster: $*" >&2; }
die() { log "$*"; exit 1; }

server_field() {
  local entry name role octet
  for entry in "${SERVERS[@]}"; do
    read -r name role octet <<<"$entry"
    if [ "$name" = "$1" ]; then
      case "$2" in role) echo "$role" ;; address) echo "$CLUSTER_NET.$octet" ;; esac
      return 0
    fi
  done
  die "no server named $1 (one of: api-1 api-2 worker-1 worker-2 runner-1)"
}

namespace_of() { echo "$CLUSTER_NAME-$1"; }
pid_of() { cat "$CLUSTER_DIR/$1/server.pid" 2>/dev/null || true; }
is_running() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
store_address() { echo "postgresql://cray@$HOST_ADDRESS:$PG_PORT/cray"; }

start_network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip address add "$HOST_ADDRESS/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  local entry name role octet
  for entry in "${SERVERS[@]}"; do
    read -r name role octet <<<"$entry"
    start_server_network "$name" "$octet"
  done
}

# One server's namespace, its end of a veth pair on the bridge and its address. A namespace whose
# file under /run/netns is no longer a namespace (its mount lost) is made again, as a machine's
# network comes back with it.
start_server_network() {
  local name=$1 octet=$2 namespace
  namespace=$(namespace_of "$name")
  if [ -e "/run/netns/$namespace" ]; then
    [ "$(stat -f -c %T "/run/netns/$namespace")" = nsfs ] && return 0
    log "the network namespace $namespace is gone; making it again"
    ip netns delete "$namespace" 2>/dev/null || rm -f "/run/netns/$namespace"
    ip link delete "${CLUSTER_NAME}h$octet" 2>/dev/null || true
  fi
  ip netns add "$namespace"
  # ip netns exec puts these over /etc/hosts and /etc/resolv.conf: names for the cluster's
  # addresses, and no DNS server (the host's is unreachable from here, so lookups, reverse ones
  # included, would each wait for a timeout instead of failing at once).
  mkdir -p "/etc/netns/$namespace"
  cluster_hosts >"/etc/netns/$namespace/hosts"
  echo "# the cluster's private network has no DNS server; names are in /etc/hosts" >"/etc/netns/$namespace/resolv.conf"
  ip link add "${CLUSTER_NAME}h$octet" type veth peer name eth0 netns "$namespace"
  ip link set "${CLUSTER_NAME}h$octet" master "$BRIDGE" up
  ip -n "$namespace" address add "$CLUSTER_NET.$octet/24" dev eth0
  ip -n "$namespace" link set lo up
  ip -n "$namespace" link set eth0 up
  ip -n "$namespace" route add default via "$HOST_ADDRESS"
}

cluster_hosts() {
  local entry name role octet
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s-host\n' "$HOST_ADDRESS" "$CLUSTER_NAME"
  for entry in "${SERVERS[@]}"; do
    read -r name role octet <<<"$entry"
    printf '%s\t%s\n' "$CLUSTER_NET.$octet" "$name"
  done
}

stop_network() {
  local entry name role octet
  for entry in "${SERVERS[@]}"; do
    read -r name role octet <<<"$entry"
    ip netns delete "$(namespace_of "$name")" 2>/dev/null || true
    rm -rf "/etc/netns/$(namespace_of "$name")"
    ip link delete "${CLUSTER_NAME}h$octet" 2>/dev/null || true
  done
  ip link delete "$BRIDGE" 2>/dev/null || true
}

start_postgres() {
  local directory="$CLUSTER_DIR/postgres" binaries run=(setpriv --reuid=65534 --regid=65534 --clear-groups --) pid
  pid=$(cat "$CLUSTER_DIR/postgres.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  binaries=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if [ ! -d "$directory/data" ]; then
    mkdir -p "$directory"
    chown 65534:65534 "$directory"
    (umask 077; head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_' >"$CLUSTER_DIR/postgres-password")
    install -o 65534 -g 65534 -m 0600 "$CLUSTER_DIR/postgres-password" "$directory/password"
    "${run[@]}" "$binaries/initdb" -D "$directory/data" -U cray --pwfile="$directory/password" -A scram-sha-256 -E UTF8 --locale=C --no-sync >/dev/null
    rm -f "$directory/password"
    echo "host all cray $CLUSTER_NET.0/24 scram-sha-256" >>"$directory/data/pg_hba.conf"
  fi
  "${run[@]}" "$binaries/postgres" -D "$directory/data" -k "$directory" -c listen_addresses="$HOST_ADDRESS" -p "$PG_PORT" \
    >"$CLUSTER_DIR/postgres.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/postgres.pid"
  for _ in $(seq 1 100); do
    [ -S "$directory/.s.PGSQL.$PG_PORT" ] && break
    sleep 0.1
  done
  [ -S "$directory/.s.PGSQL.$PG_PORT" ] || die "PostgreSQL did not start; see $CLUSTER_DIR/postgres.log"
  PGPASSWORD=$(cat "$CLUSTER_DIR/postgres-password") "$binaries/psql" -h "$HOST_ADDRESS" -p "$PG_PORT" -U cray -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = 'cray'" | grep -q 1 ||
    PGPASSWORD=$(cat "$CLUSTER_DIR/postgres-password") "$binaries/createdb" -h "$HOST_ADDRESS" -p "$PG_PORT" -U cray cray
}

start_gateway() {
  local exports
  exports=$(scripts/rgw.sh start)
  eval "$exports"
  (umask 077
    echo "$AWS_ACCESS_KEY_ID" >"$CLUSTER_DIR/s3-access-key"
    echo "$AWS_SECRET_ACCESS_KEY" >"$CLUSTER_DIR/s3-secret-key")
}

make_secrets() {
  [ -f "$CLUSTER_DIR/key-ring.secret" ] || (umask 077; head -c 48 /dev/urandom | base64 -w0 >"$CLUSTER_DIR/key-ring.secret")
  [ -f "$CLUSTER_DIR/tls/server.crt" ] && return 0
  mkdir -p "$CLUSTER_DIR/tls"
  chmod 0700 "$CLUSTER_DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=cray-cluster" \
    -addext "subjectAltName=IP:$(server_field api-1 address),IP:$(server_field api-2 address)" \
    -keyout "$CLUSTER_DIR/tls/server.key" -out "$CLUSTER_DIR/tls/server.crt" 2>/dev/null
}

# Tokens live in the shared store: made once, after the first API server has created the tables.
make_tokens() {
  local name
  for name in admin runner-1; do
    [ -s "$CLUSTER_DIR/$name-token.json" ] && continue
    (umask 077; dotnet "$SERVER_DLL" tokens create "$name" --data-dir "$CLUSTER_DIR/api-1" --store "$(store_address)" \
      --store-password-file "$CLUSTER_DIR/postgres-password" >"$CLUSTER_DIR/$name-token.json" 2>"$CLUSTER_DIR/tokens.log") ||
      die "cray-server tokens create $name failed: $(cat "$CLUSTER_DIR/tokens.log")"
  done
}

log_end() { echo "the end of $CLUSTER_DIR/$1/server.log says: $(tail -60 "$CLUSTER_DIR/$1/server.log")"; }

run_server() {
  local name=$1 role address namespace arguments
  role=$(server_field "$name" role)
  address=$(server_field "$name" address)
  namespace=$(namespace_of "$name")
  is_running "$name" && return 0
  start_server_network "$name" "${address##*.}"
  mkdir -p "$CLUSTER_DIR/$name"
  arguments=(--data-dir "$CLUSTER_DIR/$name/data" --roles "$role" --worker-name "$name" --lease-duration "$LEASE_DURATION"
    --store "$(store_address)" --store-password-file "$CLUSTER_DIR/postgres-password"
    --artifacts s3 --s3-endpoint "http://$HOST_ADDRESS:$RGW_PORT"
    --s3-access-key-file "$CLUSTER_DIR/s3-access-key" --s3-secret-key-file "$CLUSTER_DIR/s3-secret-key"
    --key-ring-secret-file "$CLUSTER_DIR/key-ring.secret" --auth token)
  case "$role" in
    api) arguments+=(--listen "$address:$API_PORT" --tls-certificate "$CLUSTER_DIR/tls/server.crt" --tls-key "$CLUSTER_DIR/tls/server.key") ;;
    ims-worker) arguments+=(--listen "127.0.0.1:$API_PORT" --ims-ssh-address "$address" --ims-worker-slots "$WORKER_SLOTS") ;;
    cfs-runner) arguments+=(--listen "127.0.0.1:$API_PORT" --cfs-ims-url "https://$(server_field api-1 address):$API_PORT/apis/ims"
      --cfs-ims-token-file "$CLUSTER_DIR/runner-1-token.json" --cfs-ims-certificate "$CLUSTER_DIR/tls/server.crt"
      --cfs-runner-slots "$RUNNER_SLOTS") ;;
  esac
  # ip netns exec runs the server itself (same pid), in its own session so that a kill reaches only it.
  setsid ip netns exec "$namespace" dotnet "$SERVER_DLL" "${arguments[@]}" >>"$CLUSTER_DIR/$name/server.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/$name/server.pid"
  local url="http://127.0.0.1:$API_PORT/healthz"
  [ "$role" = api ] && url="https://$address:$API_PORT/healthz"
  local deadline=$((SECONDS + START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ip netns exec "$namespace" curl -fsk --max-time 2 "$url" >/dev/null 2>&1; then
      log "$name ($role) is up on $address"
      return 0
    fi
    is_running "$name" || die "$name exited; $(log_end "$name")"
    sleep 0.2
  done
  die "$name did not answer within $START_TIMEOUT s; $(log_end "$name")"
}

print_env() {
  printf 'export %s=%q\n' \
    CLUSTER_API_1 "https://$(server_field api-1 address):$API_PORT" \
    CLUSTER_API_2 "https://$(server_field api-2 address):$API_PORT" \
    CRAY_CREDENTIALS "$CLUSTER_DIR/admin-token.json" \
    CLUSTER_DIR "$CLUSTER_DIR"
}

stop_server() {
  local name=$1 pid
  pid=$(pid_of "$name")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$CLUSTER_DIR/$name/server.pid"
}

stop_all() {
  local entry name role octet pid
  for entry in "${SERVERS[@]}"; do
    read -r name role octet <<<"$entry"
    stop_server "$name"
  done
  [ -d "$CEPH_DIR" ] && scripts/rgw.sh purge >/dev/null 2>&1 || true
  pid=$(cat "$CLUSTER_DIR/postgres.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # What a killed server left (a job's sshd, sandboxes) names its directory on its command line.
  pkill -KILL -f -- "$CLUSTER_DIR/" 2>/dev/null || true
  stop_network
  rm -rf "$CLUSTER_DIR"
}

[ "$(id -u)" -eq 0 ] || die "run as root: network namespaces and the IMS workers need it"
case "${1:-}" in
  start)
    # shellcheck source=prerequisites.sh
    source scripts/prerequisites.sh
    ensure_packages mksquashfs unsquashfs sshd ssh ssh-keygen ansible-playbook git curl bwrap unshare nsenter slirp4netns setpriv ip openssl >&2
    ensure_postgresql >&2
    ensure_ceph_rgw >&2
    ensure_dotnet >&2
    [ -f "$SERVER_DLL" ] || dotnet build "$REPOSITORY/src/Cray.Server/Cray.Server.csproj" -c Release -nologo -v quiet >&2
    mkdir -p "$CLUSTER_DIR"
    # PostgreSQL runs as nobody and must reach its directory; every secret inside is 0600.
    chmod 0711 "$CLUSTER_DIR"
    start_network
    start_postgres
    start_gateway
    make_secrets
    run_server api-1
    make_tokens
    for name in api-2 worker-1 worker-2 runner-1; do run_server "$name"; done
    print_env
    ;;
  env) [ -s "$CLUSTER_DIR/admin-token.json" ] || die "no cluster in $CLUSTER_DIR"; print_env ;;
  status)
    for entry in "${SERVERS[@]}"; do
      read -r name role octet <<<"$entry"
      if is_running "$name"; then echo "$name ($role, $CLUSTER_NET.$octet): running"; else echo "$name ($role, $CLUSTER_NET.$octet): stopped"; fi
    done
    ;;
  kill)
    [ -n "${2:-}" ] || die "usage: $0 kill NAME"
    server_field "$2" role >/dev/null
    pid=$(pid_of "$2")
    [ -n "$pid" ] || die "$2 is not running"
    kill -KILL "$pid"
    # Gone, or a zombie nobody has reaped yet: either way it runs no more.
    while [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.05; done
    rm -f "$CLUSTER_DIR/$2/server.pid"
    ;;
  run) [ -n "${2:-}" ] || die "usage: $0 run NAME"; run_server "$2" ;;
  stop) stop_all ;;
  *) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
