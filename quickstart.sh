#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running cray-server with an imported base image:
# installs what is missing, builds, puts cray and cray-server on the PATH, starts the server
# with its embedded defaults (API, IMS worker), runs `cray init`, builds a small Debian image
# (cached), imports it and lists the images.
#
#   ./quickstart.sh          set everything up (safe to run again)
#   ./quickstart.sh --stop   stop the server this script started
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh

LISTEN="127.0.0.1:8280"
DATA_DIR="${CRAY_SERVER_DATA_DIR:-/var/lib/cray-server}"
INSTALL_DIR="${CRAY_INSTALL_DIR:-/opt/cray}"
BIN_DIR="${CRAY_BIN_DIR:-/usr/local/bin}"
PID_FILE="$DATA_DIR/cray-server.pid"
LOG_FILE="$DATA_DIR/cray-server.log"
BASE_IMAGE_NAME="debian-bookworm-base"

stop_server() {
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    kill "$(cat "$PID_FILE")"
    rm -f "$PID_FILE"
    echo "cray-server stopped."
  else
    echo "cray-server is not running (no live process in $PID_FILE)."
  fi
}

if [ "${1:-}" = "--stop" ]; then
  stop_server
  exit 0
fi

ensure_dotnet
ensure_packages mksquashfs unsquashfs mmdebstrap sshd ssh ssh-keygen ansible-playbook git jq curl kiwi-ng debootstrap rsync bwrap unshare nsenter slirp4netns

echo "==> Building cray and cray-server (Release)"
dotnet publish src/Cray.Server/Cray.Server.csproj -c Release -o "$INSTALL_DIR/server" -nologo -v quiet
dotnet publish src/Cray.Cli/Cray.Cli.csproj -c Release -o "$INSTALL_DIR/cli" -nologo -v quiet
mkdir -p "$BIN_DIR"
ln -sf "$INSTALL_DIR/server/cray-server" "$BIN_DIR/cray-server"
ln -sf "$INSTALL_DIR/cli/cray" "$BIN_DIR/cray"
echo "    cray and cray-server are in $BIN_DIR"

mkdir -p "$DATA_DIR"
if curl -fsS "http://$LISTEN/apis/ims/healthz/ready" >/dev/null 2>&1; then
  echo "==> cray-server already answers on $LISTEN; restarting it on the new build"
  stop_server
  for _ in $(seq 1 50); do
    curl -fsS "http://$LISTEN/apis/ims/healthz/ready" >/dev/null 2>&1 || break
    sleep 0.2
  done
fi
echo "==> Starting cray-server on $LISTEN (data in $DATA_DIR, log in $LOG_FILE)"
nohup "$BIN_DIR/cray-server" --listen "$LISTEN" --data-dir "$DATA_DIR" >>"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"
for _ in $(seq 1 100); do
  if curl -fsS "http://$LISTEN/apis/ims/healthz/ready" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "cray-server exited; the end of $LOG_FILE says:" >&2
    tail -n 20 "$LOG_FILE" >&2
    exit 1
  fi
  sleep 0.2
done
echo "    stop it with: ./quickstart.sh --stop   (or: kill \$(cat $PID_FILE))"

echo "==> cray init"
cray init --hostname "$LISTEN" --no-auth --overwrite

echo "==> Getting the base image (built once with mmdebstrap, then cached)"
BASE_IMAGE=$(scripts/base-image.sh)
echo "    $BASE_IMAGE"

image_id=$(cray ims images list --format json | jq -r --arg name "$BASE_IMAGE_NAME" 'map(select(.name == $name and .link != null)) | first | .id // empty')
if [ -z "$image_id" ]; then
  echo "==> Importing $BASE_IMAGE_NAME into IMS"
  image_id=$(cray ims images import --name "$BASE_IMAGE_NAME" --rootfs "$BASE_IMAGE" --format json | jq -r .id)
else
  echo "==> $BASE_IMAGE_NAME is already imported as $image_id"
fi

echo "==> cray ims images list"
cray ims images list
echo
echo "==> The seed's check: cray ims images list --format json | jq -r 'any(.[]; .id == \"$image_id\")'"
cray ims images list --format json | jq -r --arg id "$image_id" 'any(.[]; .id == $id)'

echo "==> The configuration configurations-example, from examples/ansible-example (a local git repository)"
example_repo="$DATA_DIR/examples/ansible-example"
if [ ! -d "$example_repo/.git" ]; then
  mkdir -p "$example_repo"
  git -C "$example_repo" init -q -b main
fi
cp examples/ansible-example/site.yml "$example_repo/site.yml"
git -C "$example_repo" add site.yml
git -C "$example_repo" -c user.name=quickstart -c user.email=quickstart@localhost commit -q -m "Example layer" >/dev/null 2>&1 || true
configuration_file=$(mktemp)
printf '{"layers":[{"name":"example","clone_url":"%s","branch":"main","playbook":"site.yml"}]}\n' "$example_repo" >"$configuration_file"
cray cfs v3 configurations update configurations-example --file "$configuration_file" --format json | jq -c '.layers'
rm -f "$configuration_file"

echo "==> The seed: cray cfs sessions create --name example --configuration-name configurations-example --target-definition image --target-group Compute $image_id"
cray cfs sessions delete example >/dev/null 2>&1 || true
cray cfs sessions create --name example --configuration-name configurations-example \
  --target-definition image --target-group Compute "$image_id" --format json
echo "==> Waiting for the session (cray cfs sessions logs example --follow shows every step)"
cray cfs sessions logs example --follow | grep -E " Phase | Waiting for image| reused from the layer cache| Failed: | customized: result | complete in " || true
echo "==> cray cfs sessions describe example --format json | jq .status.artifacts"
cray cfs sessions describe example --format json | jq .status.artifacts
succeeded=$(cray cfs sessions describe example --format json | jq -r .status.session.succeeded)

echo "==> cray bootprep run: a configuration and an image from one input file (examples/bootprep/bootprep.yaml)"
cray bootprep run examples/bootprep/bootprep.yaml --vars-file examples/bootprep/vars.yaml \
  --vars example.repository="$example_repo"
echo
echo "Base image id: $image_id; session succeeded: $succeeded"
[ "$succeeded" = "true" ]
