#!/usr/bin/env bash
# A private single-node Ceph cluster (one monitor, one OSD, no manager) with a RADOS Gateway on
# loopback: real S3, as CSM's artifact repository serves it. Uses Debian 12's packages (ceph-mon,
# ceph-osd, radosgw, ceph-common; see ensure_ceph_rgw in prerequisites.sh) and no systemd.
#
#   scripts/rgw.sh start    bootstrap or restart the cluster, wait until S3 answers, print the
#                           export lines below on stdout (eval "$(scripts/rgw.sh start)")
#   scripts/rgw.sh env      print the export lines of the running cluster (exit 1 if not running)
#   scripts/rgw.sh status   say whether the cluster runs (exit 0) or not (exit 1)
#   scripts/rgw.sh stop     TERM the cluster's daemons (KILL after 30 s) and wait for them to exit
#   scripts/rgw.sh purge    stop, then delete the state directory
#
# start prints, and nothing else on stdout (progress goes to stderr):
#   export S3_ENDPOINT=http://127.0.0.1:17480
#   export AWS_ENDPOINT_URL=http://127.0.0.1:17480
#   export AWS_ACCESS_KEY_ID=...  AWS_SECRET_ACCESS_KEY=...  AWS_DEFAULT_REGION=us-east-1
#   export CEPH_CONF=$CEPH_DIR/ceph.conf    (for ceph -s, rados, radosgw-admin)
#
# Environment (read when the cluster is bootstrapped; later starts reuse what was saved in the
# state directory and warn if these differ):
#   CEPH_DIR      state directory; default ${TMPDIR:-/tmp}/cray-rgw-$UID. Everything (config, keys,
#                 mon and OSD data, pid files, admin sockets, logs) lives here; nothing is written to
#                 /etc/ceph, /var/lib/ceph, /var/run/ceph or /var/log/ceph. Not $XDG_RUNTIME_DIR: it
#                 is usually a small tmpfs, and the bluestore file can grow to OSD_SIZE_GB. Keep the
#                 path short (at most 81 characters): admin sockets are Unix sockets.
#   RGW_PORT      S3 port (17480); MON_PORT / MON_V2_PORT monitor ports (16789 / 13300);
#   OSD_PORT_MIN / OSD_PORT_MAX   ports the OSD may bind (16800 / 16900). All on 127.0.0.1.
#   RGW_EXTRA_ADDRESS   an IPv4 address of this host where S3 also listens on RGW_PORT (none), for
#                 clients in other network namespaces (scripts/cluster.sh); it must exist at start.
#   OSD_STORE     bluestore (default: a sparse file of OSD_SIZE_GB, data survives restarts) or
#                 memstore (in RAM, at most OSD_SIZE_GB; faster to bootstrap, but data is lost when
#                 the OSD stops, so start then bootstraps a new cluster).
#   OSD_SIZE_GB   10
#   S3_UID, S3_ACCESS_KEY, S3_SECRET_KEY   the S3 user. Defaults: uid "cray", a random key pair
#                 made on first start and kept in $CEPH_DIR/s3-credentials (mode 0600) for the life
#                 of the state directory. Keys given later are added to that user (or a new uid).
#   RGW_WAIT_TIMEOUT   seconds start waits for S3 to answer (180)
#
# Re-running start is safe: daemons already running are left alone; stopped or killed ones are
# restarted (bluestore keeps the data); a bootstrap that never finished is wiped and redone; a
# memstore cluster whose OSD is gone is bootstrapped again. Runs as root or as any user.
set -euo pipefail
unset CEPH_ARGS

CEPH_DIR="${CEPH_DIR:-${TMPDIR:-/tmp}/cray-rgw-$(id -u)}"
CONF="$CEPH_DIR/ceph.conf"
RUN_DIR="$CEPH_DIR/run"
LOG_DIR="$CEPH_DIR/log"
SETTINGS="$CEPH_DIR/settings"
CREDENTIALS="$CEPH_DIR/s3-credentials"
MARKER="$CEPH_DIR/bootstrapped"
LOCK_FILE="$CEPH_DIR/lock"
REGION=us-east-1
# Daemon names, in start order.
DAEMONS=(mon.a osd.0 client.rgw.a)
# Pools radosgw uses; creating the bucket pools up front keeps the first PUT from waiting on them.
RGW_POOLS=(.rgw.root default.rgw.control default.rgw.meta default.rgw.log
  default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)

# What the caller asked for; compared against the saved settings of an existing cluster.
declare -A REQUESTED=(
  [RGW_PORT]="${RGW_PORT:-}" [MON_PORT]="${MON_PORT:-}" [MON_V2_PORT]="${MON_V2_PORT:-}"
  [OSD_PORT_MIN]="${OSD_PORT_MIN:-}" [OSD_PORT_MAX]="${OSD_PORT_MAX:-}"
  [OSD_STORE]="${OSD_STORE:-}" [OSD_SIZE_GB]="${OSD_SIZE_GB:-}" [RGW_EXTRA_ADDRESS]="${RGW_EXTRA_ADDRESS:-}"
)
RGW_PORT="${RGW_PORT:-17480}"
MON_PORT="${MON_PORT:-16789}"
MON_V2_PORT="${MON_V2_PORT:-13300}"
OSD_PORT_MIN="${OSD_PORT_MIN:-16800}"
OSD_PORT_MAX="${OSD_PORT_MAX:-16900}"
OSD_STORE="${OSD_STORE:-bluestore}"
OSD_SIZE_GB="${OSD_SIZE_GB:-10}"
RGW_EXTRA_ADDRESS="${RGW_EXTRA_ADDRESS:-}"
RGW_WAIT_TIMEOUT="${RGW_WAIT_TIMEOUT:-180}"

now_us() { local t="${EPOCHREALTIME//[.,]/}"; echo "$((10#$t))"; }
START_US=$(now_us)

log() {
  local us
  us=$(($(now_us) - START_US))
  printf '[rgw.sh %d.%01ds] %s\n' "$((us / 1000000))" "$((us % 1000000 / 100000))" "$*" >&2
}

die() {
  printf 'rgw.sh: %s\n' "$*" >&2
  exit 1
}

log_hint() {
  echo "Logs: $LOG_DIR/ceph-mon.a.log, $LOG_DIR/ceph-osd.0.log, $LOG_DIR/ceph-client.rgw.a.log;" \
    "cluster state: ceph -c $CONF -s"
}

require_tools() {
  local tool missing=()
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool curl flock; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  /usr/bin/python3 -c 'import rados' 2>/dev/null || missing+=("python3-rados (/usr/bin/python3)")
  if [ "${#missing[@]}" -gt 0 ]; then
    die "missing: ${missing[*]}. Install them with: source scripts/prerequisites.sh && ensure_ceph_rgw"
  fi
}

validate_settings() {
  local name
  for name in RGW_PORT MON_PORT MON_V2_PORT OSD_PORT_MIN OSD_PORT_MAX OSD_SIZE_GB RGW_WAIT_TIMEOUT; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || die "$name must be a number, not '${!name}'"
  done
  [ -z "$RGW_EXTRA_ADDRESS" ] || [[ "$RGW_EXTRA_ADDRESS" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "RGW_EXTRA_ADDRESS must be an IPv4 address, not '$RGW_EXTRA_ADDRESS'"
  case "$OSD_STORE" in
    bluestore | memstore) ;;
    *) die "OSD_STORE must be bluestore or memstore, not '$OSD_STORE'" ;;
  esac
}

# The state directory: made private, owned by us (it may sit in a shared /tmp).
prepare_dir() {
  # Unix socket paths (the admin sockets) are limited to 107 bytes.
  [ "${#RUN_DIR}" -le 85 ] || die "CEPH_DIR is too long for the daemons' admin sockets: $CEPH_DIR"
  mkdir -p "$CEPH_DIR"
  [ -O "$CEPH_DIR" ] || die "$CEPH_DIR belongs to another user"
  chmod 0700 "$CEPH_DIR"
}

# Serializes start/stop/purge on one state directory.
lock_dir() {
  exec {LOCK_FD}>>"$LOCK_FILE"
  flock -w 600 "$LOCK_FD" || die "timed out waiting for another rgw.sh on $CEPH_DIR"
}

# The pid of a daemon if it runs: from its pid file, and only if that process was started with
# our -c $CONF (a stale pid file may name a recycled pid).
daemon_pid() {
  local pid_file="$RUN_DIR/$1.pid" pid arg previous=""
  [ -r "$pid_file" ] || return 1
  read -r pid <"$pid_file" || [ -n "${pid:-}" ] || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  local -a args=()
  mapfile -d "" -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
  for arg in "${args[@]}"; do
    if [ "$previous" = "-c" ] && [ "$arg" = "$CONF" ]; then
      echo "$pid"
      return 0
    fi
    previous="$arg"
  done
  return 1
}

running() { daemon_pid "$1" >/dev/null; }

all_running() {
  local daemon
  for daemon in "${DAEMONS[@]}"; do
    running "$daemon" || return 1
  done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

save_settings() {
  local name
  {
    for name in RGW_PORT MON_PORT MON_V2_PORT OSD_PORT_MIN OSD_PORT_MAX OSD_STORE OSD_SIZE_GB RGW_EXTRA_ADDRESS; do
      printf '%s=%q\n' "$name" "${!name}"
    done
  } >"$SETTINGS"
}

# Settings of an existing cluster win over the environment (ports are baked into its monitor map).
load_settings() {
  [ -r "$SETTINGS" ] || return 1
  # shellcheck source=/dev/null
  source "$SETTINGS"
  local name
  for name in "${!REQUESTED[@]}"; do
    if [ -n "${REQUESTED[$name]}" ] && [ "${REQUESTED[$name]}" != "${!name}" ]; then
      log "warning: $CEPH_DIR was bootstrapped with $name=${!name}; ignoring $name=${REQUESTED[$name]} (purge to change it)"
    fi
  done
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# The S3 user wanted now: the environment first, then what was stored, then new random keys.
resolve_credentials() {
  STORED_UID="" STORED_ACCESS_KEY="" STORED_SECRET_KEY=""
  if [ -r "$CREDENTIALS" ]; then
    # shellcheck source=/dev/null
    source "$CREDENTIALS"
  fi
  WANT_UID="${S3_UID:-${STORED_UID:-cray}}"
  local access_key="$STORED_ACCESS_KEY" secret_key="$STORED_SECRET_KEY"
  if [ "$WANT_UID" != "$STORED_UID" ]; then
    # Keys belong to one user: another uid gets keys of its own.
    access_key="" secret_key=""
  fi
  WANT_ACCESS_KEY="${S3_ACCESS_KEY:-${access_key:-$(random_hex 10 | tr a-f A-F)}}"
  WANT_SECRET_KEY="${S3_SECRET_KEY:-${secret_key:-$(random_hex 20)}}"
}

store_credentials() {
  (
    umask 077
    printf 'STORED_UID=%q\nSTORED_ACCESS_KEY=%q\nSTORED_SECRET_KEY=%q\n' \
      "$WANT_UID" "$WANT_ACCESS_KEY" "$WANT_SECRET_KEY" >"$CREDENTIALS.new"
  )
  mv "$CREDENTIALS.new" "$CREDENTIALS"
  STORED_UID="$WANT_UID" STORED_ACCESS_KEY="$WANT_ACCESS_KEY" STORED_SECRET_KEY="$WANT_SECRET_KEY"
}

rgw_admin() { radosgw-admin -c "$CONF" -n client.admin "$@" >/dev/null; }

# Makes the wanted user and key exist (after bootstrap, or when the environment names new ones).
ensure_user() {
  if [ "$WANT_UID" = "$STORED_UID" ] && [ "$WANT_ACCESS_KEY" = "$STORED_ACCESS_KEY" ] &&
    [ "$WANT_SECRET_KEY" = "$STORED_SECRET_KEY" ] && [ -f "$MARKER" ]; then
    return 0
  fi
  if radosgw-admin -c "$CONF" -n client.admin user info --uid="$WANT_UID" >/dev/null 2>&1; then
    log "adding S3 key $WANT_ACCESS_KEY to user $WANT_UID"
    rgw_admin key create --uid="$WANT_UID" --key-type=s3 \
      --access-key="$WANT_ACCESS_KEY" --secret-key="$WANT_SECRET_KEY" ||
      die "radosgw-admin key create failed for user $WANT_UID"
  else
    log "creating S3 user $WANT_UID"
    rgw_admin user create --uid="$WANT_UID" --display-name="Cray test user $WANT_UID" \
      --access-key="$WANT_ACCESS_KEY" --secret-key="$WANT_SECRET_KEY" ||
      die "radosgw-admin user create failed for user $WANT_UID"
  fi
  store_credentials
}

print_env() {
  local endpoint="http://127.0.0.1:$RGW_PORT"
  printf 'export %s=%q\n' \
    S3_ENDPOINT "$endpoint" \
    AWS_ENDPOINT_URL "$endpoint" \
    AWS_ACCESS_KEY_ID "$STORED_ACCESS_KEY" \
    AWS_SECRET_ACCESS_KEY "$STORED_SECRET_KEY" \
    AWS_DEFAULT_REGION "$REGION" \
    CEPH_CONF "$CONF"
}

write_conf() {
  local store_settings
  if [ "$OSD_STORE" = memstore ]; then
    store_settings="osd objectstore = memstore
memstore device bytes = $((OSD_SIZE_GB * 1024 * 1024 * 1024))"
  else
    store_settings="osd objectstore = bluestore
bluestore block size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
bluestore block create = true
bluestore cache autotune = false
bluestore cache size = $((128 * 1024 * 1024))
bluestore fsck on mkfs = false
# Closing the block device waits for the aio thread's poll (250 ms by default), and the OSD does
# that about 15 times while it starts; start_daemon puts 250 ms back once it runs (idle CPU).
bdev aio poll ms = 20
# The OSD replays BlueFS's log when it starts (~0.4 ms per 4 KiB entry, twice): compact it at 1 MiB,
# not 16 MiB, or a restart takes seconds longer.
bluefs log compact min size = $((1024 * 1024))"
  fi
  cat >"$CONF" <<EOF
# Written by scripts/rgw.sh; a private cluster on loopback. Every path points into $CEPH_DIR.
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $CEPH_DIR/keyring
run dir = $RUN_DIR
pid file = $RUN_DIR/\$name.pid
admin socket = $RUN_DIR/\$name.asok
log file = $LOG_DIR/\$cluster-\$name.log
mon cluster log file = default=$LOG_DIR/\$cluster.\$channel.log cluster=$LOG_DIR/\$cluster.log
crash dir = $CEPH_DIR/crash
mon data = $CEPH_DIR/mon/\$id
osd data = $CEPH_DIR/osd/\$id
rgw data = $CEPH_DIR/rgw/\$id
# One OSD: single replica, few placement groups.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# Each monitor map change (osd new, OSD boot, every pool create) otherwise waits ~1 s.
paxos propose interval = 0.1
# A nearly full host disk should not stop the monitor.
mon data avail warn = 5
mon data avail crit = 1
osd memory target = $((1024 * 1024 * 1024))
# RocksDB prints its ~300 KB of options on every mount at level 4.
debug rocksdb = 1/5
$store_settings

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT${RGW_EXTRA_ADDRESS:+ endpoint=$RGW_EXTRA_ADDRESS:$RGW_PORT}
# Deleted data is freed after 5 minutes instead of 2 hours.
rgw gc obj min wait = 300
# Without PGs radosgw exits after this instead of hanging for 300 s.
rgw init timeout = 140
EOF
}

write_keyring() {
  local mon_key admin_key rgw_key osd_key
  mon_key=$(ceph-authtool --gen-print-key)
  admin_key=$(ceph-authtool --gen-print-key)
  rgw_key=$(ceph-authtool --gen-print-key)
  osd_key=$(ceph-authtool --gen-print-key)
  # The monitor imports all of these at mkfs, osd.0 included, so the OSD can fetch its
  # configuration for its own mkfs without another round trip.
  (
    umask 077
    cat >"$CEPH_DIR/keyring" <<EOF
[mon.]
	key = $mon_key
	caps mon = "allow *"
[client.admin]
	key = $admin_key
	caps mds = "allow *"
	caps mgr = "allow *"
	caps mon = "allow *"
	caps osd = "allow *"
[client.rgw.a]
	key = $rgw_key
	caps mgr = "allow rw"
	caps mon = "allow rw"
	caps osd = "allow rwx"
[osd.0]
	key = $osd_key
	caps mgr = "allow profile osd"
	caps mon = "allow profile osd"
	caps osd = "allow *"
EOF
  )
}

# Registers osd.0 and creates the radosgw pools over one connection. Commands run in parallel
# threads, so the monitor commits several in one proposal.
create_osd_and_pools() {
  /usr/bin/python3 - "$CONF" "$OSD_UUID" "${RGW_POOLS[@]}" <<'EOF'
import json, sys, threading
import rados

conf, osd_uuid, pools = sys.argv[1], sys.argv[2], sys.argv[3:]
cluster = rados.Rados(conffile=conf, name="client.admin")
cluster.connect(timeout=60)
errors = []

def command(**cmd):
    ret, _, err = cluster.mon_command(json.dumps(cmd), b"", timeout=60)
    if ret != 0:
        raise RuntimeError(f"{cmd}: {err} ({ret})")

def run(*cmds):
    try:
        for cmd in cmds:
            command(**cmd)
    except Exception as e:
        errors.append(str(e))

threads = [threading.Thread(target=run, args=({"prefix": "osd new", "uuid": osd_uuid, "id": 0},))]
for pool in pools:
    threads.append(threading.Thread(target=run, args=(
        {"prefix": "osd pool create", "pool": pool, "pg_num": 8, "pgp_num": 8},
        {"prefix": "osd pool application enable", "pool": pool, "app": "rgw"},
    )))
for t in threads:
    t.start()
for t in threads:
    t.join()
cluster.shutdown()
if errors:
    sys.exit("\n".join(errors))
EOF
}

start_daemon() {
  local daemon="$1"
  # The daemons must not inherit the lock's descriptor: they would hold the lock for their lifetime.
  case "$daemon" in
    mon.a) ceph-mon -c "$CONF" -i a ;;
    osd.0) ceph-osd -c "$CONF" -i 0 ;;
    client.rgw.a) radosgw -c "$CONF" -n client.rgw.a ;;
  esac {LOCK_FD}<&- >>"$LOG_DIR/daemons.log" 2>&1 || die "$daemon failed to start; see $LOG_DIR/daemons.log. $(log_hint)"
  # ceph-mon and ceph-osd return once initialized; radosgw forks early. All write their pid file.
  local tries=0
  until running "$daemon"; do
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || die "$daemon did not start. $(log_hint)"
    sleep 0.05
  done
  if [ "$daemon" = osd.0 ]; then
    settle_osd 2>>"$LOG_DIR/daemons.log" || die "osd.0 did not boot; see $LOG_DIR/daemons.log. $(log_hint)"
  fi
}

# Waits until the OSD has booted (the monitor has it up at its new address), through its admin
# socket; radosgw started before that may be handed an OSD map with the address of an OSD that was
# killed, and then waits 10 s before asking again. For bluestore it also puts bdev_aio_poll_ms back.
settle_osd() {
  /usr/bin/python3 - "$RUN_DIR/osd.0.asok" "$OSD_STORE" "$RGW_WAIT_TIMEOUT" <<'EOF'
import json, socket, struct, sys, time

def command(cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(json.dumps(cmd).encode() + b"\0")
    size = struct.unpack(">I", s.recv(4))[0]
    reply = b""
    while len(reply) < size:
        chunk = s.recv(size - len(reply))
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.decode(errors="replace")

if sys.argv[2] == "bluestore":
    reply = command({"prefix": "config set", "var": "bdev_aio_poll_ms", "val": ["250"]})
    if "success" not in reply:
        print("config set bdev_aio_poll_ms: " + reply, file=sys.stderr)
deadline = time.monotonic() + float(sys.argv[3])
while True:
    state = json.loads(command({"prefix": "status"})).get("state")
    if state == "active":
        break
    if time.monotonic() > deadline:
        sys.exit("osd.0 is still '%s' after %s s" % (state, sys.argv[3]))
    time.sleep(0.05)
EOF
}

# Waits until radosgw answers an anonymous ListAllMyBuckets (which needs the OSD's PGs active).
wait_for_s3() {
  local deadline body daemon
  deadline=$(($(now_us) + RGW_WAIT_TIMEOUT * 1000000))
  while :; do
    body=$(curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$RGW_PORT/" 2>/dev/null || true)
    case "$body" in *ListAllMyBucketsResult*) return 0 ;; esac
    for daemon in "${DAEMONS[@]}"; do
      running "$daemon" || die "$daemon exited while waiting for S3 on port $RGW_PORT. $(log_hint)"
    done
    [ "$(now_us)" -lt "$deadline" ] ||
      die "S3 on http://127.0.0.1:$RGW_PORT/ did not answer within ${RGW_WAIT_TIMEOUT}s. $(log_hint)"
    sleep 0.1
  done
}

# What a wipe leaves: the lock, and the S3 credentials, which stay stable for the life of the directory.
leftovers() {
  find "$CEPH_DIR" -mindepth 1 -maxdepth 1 ! -name "$(basename "$CREDENTIALS")" ! -name "$(basename "$LOCK_FILE")" "$@"
}

wipe() { leftovers -exec rm -rf {} +; }

bootstrap() {
  local port
  for port in "$MON_PORT" "$MON_V2_PORT" "$RGW_PORT"; do
    ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use (set MON_PORT, MON_V2_PORT or RGW_PORT)"
  done
  log "bootstrapping a $OSD_STORE cluster in $CEPH_DIR"
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$CEPH_DIR/mon/a" "$CEPH_DIR/osd/0" "$CEPH_DIR/rgw/rgw.a" "$CEPH_DIR/crash"
  FSID=$(cat /proc/sys/kernel/random/uuid)
  OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
  save_settings
  write_conf
  write_keyring
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_PORT]" \
    "$CEPH_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring" \
    >>"$LOG_DIR/bootstrap.log" 2>&1 || die "ceph-mon --mkfs failed; see $LOG_DIR/bootstrap.log and $LOG_DIR/ceph-mon.a.log"
  start_daemon mon.a
  log "monitor up; making the OSD ($OSD_STORE) and creating pools"
  # The OSD's mkfs and the monitor commands do not depend on each other.
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" {LOCK_FD}<&- >>"$LOG_DIR/bootstrap.log" 2>&1 &
  local mkfs_pid=$!
  create_osd_and_pools 2>>"$LOG_DIR/bootstrap.log" || {
    wait "$mkfs_pid" || true
    die "creating osd.0 and the pools failed; see $LOG_DIR/bootstrap.log. $(log_hint)"
  }
  wait "$mkfs_pid" || die "ceph-osd --mkfs failed; see $LOG_DIR/bootstrap.log and $LOG_DIR/ceph-osd.0.log"
  start_daemon osd.0
  log "OSD started; starting radosgw on 127.0.0.1:$RGW_PORT"
  start_daemon client.rgw.a
  wait_for_s3
  log "S3 answers; creating the S3 user"
  ensure_user
  touch "$MARKER"
  log "ready"
}

# Starts whichever daemons of a bootstrapped cluster are not running.
restart_missing() {
  local daemon started=""
  for daemon in "${DAEMONS[@]}"; do
    if ! running "$daemon"; then
      log "starting $daemon"
      start_daemon "$daemon"
      started=yes
    fi
  done
  if [ -n "$started" ]; then
    wait_for_s3
    log "ready"
  fi
}

# TERM, then KILL after 30 s, only the pids named in our own pid files; waits until they are gone.
# One at a time, in this order: radosgw stopping without its OSD hangs (its alarm fires after 120 s),
# and an OSD stopping without the monitor waits 5 s to report itself down.
stop_daemons() {
  stop_group client.rgw.a
  stop_group osd.0
  stop_group mon.a
  rm -f "$RUN_DIR"/*.pid 2>/dev/null || true
}

stop_group() {
  local daemon pid pids=() names=()
  for daemon in "$@"; do
    if pid=$(daemon_pid "$daemon"); then
      pids+=("$pid")
      names+=("$daemon")
    fi
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  log "stopping ${names[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local waited=0 alive
  while :; do
    alive=()
    for daemon in "${names[@]}"; do
      if pid=$(daemon_pid "$daemon"); then alive+=("$pid"); fi
    done
    [ "${#alive[@]}" -gt 0 ] || return 0
    if [ "$waited" -eq 300 ]; then
      log "still running after 30 s, killing: ${alive[*]}"
      kill -KILL "${alive[@]}" 2>/dev/null || true
    fi
    waited=$((waited + 1))
    sleep 0.1
  done
}

cmd_start() {
  require_tools
  validate_settings
  prepare_dir
  lock_dir
  resolve_credentials
  if [ -f "$MARKER" ] && load_settings; then
    if [ "$OSD_STORE" = memstore ] && ! running osd.0; then
      log "memstore OSD is not running, so its data is gone; bootstrapping again"
      stop_daemons
      wipe
      bootstrap
    elif all_running; then
      :
    else
      restart_missing
    fi
    ensure_user
  else
    if [ -n "$(leftovers -print -quit)" ]; then
      log "$CEPH_DIR holds an unfinished bootstrap; wiping it"
      stop_daemons
      wipe
    fi
    bootstrap
  fi
  print_env
}

cmd_env() {
  if [ ! -f "$MARKER" ] || ! all_running; then
    die "no cluster running in $CEPH_DIR (run: scripts/rgw.sh start)"
  fi
  # shellcheck source=/dev/null
  source "$SETTINGS"
  # shellcheck source=/dev/null
  source "$CREDENTIALS"
  print_env
}

cmd_status() {
  local daemon pid states=() up=0
  for daemon in "${DAEMONS[@]}"; do
    if pid=$(daemon_pid "$daemon"); then
      states+=("$daemon=$pid")
      up=$((up + 1))
    else
      states+=("$daemon=stopped")
    fi
  done
  if [ "$up" -eq "${#DAEMONS[@]}" ] && [ -f "$MARKER" ]; then
    # shellcheck source=/dev/null
    source "$SETTINGS"
    echo "running: ${states[*]}; S3 on http://127.0.0.1:$RGW_PORT; state in $CEPH_DIR"
    return 0
  fi
  echo "not running: ${states[*]}; state in $CEPH_DIR"
  return 1
}

cmd_stop() {
  [ -d "$CEPH_DIR" ] || return 0
  lock_dir
  stop_daemons
}

cmd_purge() {
  [ -d "$CEPH_DIR" ] || return 0
  [ -O "$CEPH_DIR" ] || die "$CEPH_DIR belongs to another user"
  lock_dir
  stop_daemons
  rm -rf "$CEPH_DIR"
  log "removed $CEPH_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  env) cmd_env ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  purge) cmd_purge ;;
  *)
    echo "usage: $0 start|env|status|stop|purge   (see the comment at the top of this script)" >&2
    exit 2
    ;;
esac
