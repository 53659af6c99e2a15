# Sourced by the bench scripts: builds Release, makes a work directory that is removed on exit,
# starts a private cray-server in it and defines `cray`.
# Optional before sourcing: bench_work_parent (default /var/lib, on the disk rather than a tmpfs).
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

bench_cleanup() {
  bench_cleanup_extra
  stop_bench_server
  rm -rf "$work"
}
trap bench_cleanup EXIT

start_bench_server() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dotnet "$server_dll" --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/apis/ims/healthz/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  export CRAY_CONFIG_DIR="$work/config"
  cray init --hostname "127.0.0.1:$port" --no-auth >/dev/null
}

cray() { dotnet "$cli_dll" "$@"; }
