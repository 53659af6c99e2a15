# Sourced by the bench scripts: builds Release, makes a work directory that is removed on exit,
# starts a private cray-server in it and defines `cray`.
# Optional before sourcing: bench_work_parent (default /var/lib, on the disk rather than a tmpfs).
# BENCH_STORE=postgresql keeps the server's records in a private PostgreSQL server (from the
# system's packages, run as nobody when the bench runs as root) instead of SQLite.
# BENCH_ARTIFACTS=s3 keeps the artifacts in a private Ceph RADOS Gateway (scripts/rgw.sh, OSD on a
# sparse file in $work) instead of files in the data directory.
# Sets: work, server_pid, port, CRAY_CONFIG_DIR.
dotnet build Cray.slnx -c Release -nologo -v quiet >/dev/null
server_dll=src/Cray.Server/bin/Release/net10.0/cray-server.dll
cli_dll=src/Cray.Cli/bin/Release/net10.0/cray.dll
server_pid=""
work=$(mktemp -d "${bench_work_parent:-/var/lib}/cray-bench.XXXXXX")
chmod 755 "$work"
bench_cleanup_extra() { :; }

stop_bench_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
}

postgres_pid=""

# A private PostgreSQL cluster in $work/postgres, listening only on a Unix socket there; sets bench_store_address.
start_bench_postgres() {
  local bin run=()
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$work/postgres"
  if [ "$(id -u)" -eq 0 ]; then
    chown 65534:65534 "$work/postgres"
    run=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  fi
  "${run[@]}" "$bin/initdb" -D "$work/postgres/data" -A trust -U cray -E UTF8 --locale=C --no-sync >/dev/null
  "${run[@]}" "$bin/postgres" -D "$work/postgres/data" -k "$work/postgres" -c listen_addresses= >"$work/postgres.log" 2>&1 &
  postgres_pid=$!
  for _ in $(seq 1 100); do
    [ -S "$work/postgres/.s.PGSQL.5432" ] && break
    sleep 0.1
  done
  bench_store_address="postgresql://cray@localhost/postgres?host=$work/postgres"
  # Servers on a shared store seal the key ring with an operator's secret.
  (umask 077; head -c 48 /dev/urandom | base64 -w0 >"$work/key-ring.secret")
}

rgw_started=""

# A private single-node Ceph cluster and gateway with its state in $work/ceph; sets bench_artifacts_flags.
start_bench_rgw() {
  export CEPH_DIR="$work/ceph" OSD_STORE=bluestore OSD_SIZE_GB=20
  RGW_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export RGW_PORT
  eval "$(scripts/rgw.sh start)"
  rgw_started=yes
  printf '%s\n' "$AWS_ACCESS_KEY_ID" >"$work/s3-access-key"
  printf '%s\n' "$AWS_SECRET_ACCESS_KEY" >"$work/s3-secret-key"
  chmod 600 "$work/s3-access-key" "$work/s3-secret-key"
  bench_artifacts_flags=(--artifacts s3 --s3-endpoint "$S3_ENDPOINT" --s3-access-key-file "$work/s3-access-key" --s3-secret-key-file "$work/s3-secret-key")
}

bench_cleanup() {
  bench_cleanup_extra
  stop_bench_server
  if [ -n "$rgw_started" ]; then scripts/rgw.sh purge >/dev/null 2>&1 || true; fi
  if [ -n "$postgres_pid" ]; then kill -INT "$postgres_pid" 2>/dev/null || true; wait "$postgres_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap bench_cleanup EXIT

start_bench_server() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local store=()
  if [ "${BENCH_STORE:-sqlite}" = postgresql ]; then
    start_bench_postgres
    store=(--store "$bench_store_address" --key-ring-secret-file "$work/key-ring.secret")
  fi
  bench_artifacts_flags=()
  if [ "${BENCH_ARTIFACTS:-files}" = s3 ]; then
    start_bench_rgw
  fi
  dotnet "$server_dll" --listen "127.0.0.1:$port" --data-dir "$work/data" "${store[@]}" "${bench_artifacts_flags[@]}" "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/apis/ims/healthz/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  export CRAY_CONFIG_DIR="$work/config"
  cray init --hostname "127.0.0.1:$port" --no-auth >/dev/null
}

cray() { dotnet "$cli_dll" "$@"; }

# The seed's configuration: the five-task example layer in a git repository at $repo ($work/example-repo).
store_example_configuration() {
  repo="$work/example-repo"
  mkdir -p "$repo"
  cp examples/ansible-example/site.yml "$repo/"
  git -C "$repo" init -q -b main
  git -C "$repo" add site.yml
  git -C "$repo" -c user.name=b -c user.email=b@example.com commit -q -m example
  printf '{"layers":[{"name":"example","clone_url":"%s","branch":"main","playbook":"site.yml"}]}\n' "$repo" >"$work/configuration.json"
  cray cfs v3 configurations update configurations-example --file "$work/configuration.json" >/dev/null
}
