# Sourced by quickstart.sh and test.sh: installs what a fresh Debian 12 machine lacks.

# Debian packages the project needs, by the command that proves each is present.
declare -A CRAY_PACKAGES=(
  [mksquashfs]=squashfs-tools
  [unsquashfs]=squashfs-tools
  [mmdebstrap]=mmdebstrap
  [sshd]=openssh-server
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [ansible-playbook]=ansible-core
  [git]=git
  [jq]=jq
  [curl]=curl
  # IMS create jobs build image roots from recipes with kiwi-ng (Debian recipes bootstrap with debootstrap).
  [kiwi-ng]=kiwi
  [debootstrap]=debootstrap
  [rsync]=rsync
  # Sandboxes around image roots, sshd and ansible-playbook (bubblewrap; unshare and nsenter from util-linux).
  [bwrap]=bubblewrap
  [unshare]=util-linux
  [nsenter]=util-linux
  # Tests run PostgreSQL as an unprivileged user when they run as root.
  [setpriv]=util-linux
  # The jail's sessions reach the network through user-mode NAT, not the host's loopback.
  [slirp4netns]=slirp4netns
  # Tests read file capabilities of packed images.
  [getcap]=libcap2-bin
  # The incremental packer's tests: extended attributes in the corpus, sqfsdiff as a second opinion.
  [setfattr]=attr
  [sqfsdiff]=squashfs-tools-ng
  # Image diffs read rpm databases with rpm; its tests build packages with rpmbuild.
  [rpm]=rpm
  [rpmbuild]=rpm
  # scripts/cluster.sh: network namespaces on a bridge, and the API servers' self-signed certificate.
  [ip]=iproute2
  [openssl]=openssl
)

ensure_packages() {
  local missing=()
  local command
  for command in "$@"; do
    # sshd lives in /usr/sbin, which is not on every user's PATH.
    if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ]; then
      missing+=("${CRAY_PACKAGES[$command]}")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  # De-duplicate: several commands come from one package.
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  install_packages "${missing[@]}"
}

# PostgreSQL's server, which the record store's tests start privately; Debian keeps its programs
# in /usr/lib/postgresql/VERSION/bin, off the PATH.
ensure_postgresql() {
  if compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
    return 0
  fi
  install_packages postgresql
}

# Ceph's monitor, OSD and RADOS Gateway: scripts/rgw.sh runs them privately as a real S3 server.
# ceph-common brings the ceph CLI, radosgw-admin and python3-rados. Without recommends: about 86
# packages, 72 MB to download.
ensure_ceph_rgw() {
  if command -v radosgw >/dev/null 2>&1 || [ -x /usr/bin/radosgw ]; then
    return 0
  fi
  install_packages --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
}

# install_packages [--no-install-recommends] PACKAGE...
install_packages() {
  local apt_options=()
  if [ "${1:-}" = "--no-install-recommends" ]; then
    apt_options+=(--no-install-recommends)
    shift
  fi
  echo "==> Installing missing packages: $*"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  # policy-rc.d keeps the packages' own services (the system sshd) from being started by the install.
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created_policy=yes
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_options[@]}" "$@" >/dev/null
  if [ -n "$created_policy" ]; then
    $sudo rm -f "$policy"
  fi
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "The .NET 10 SDK is required (dotnet on PATH) and Debian does not package it." >&2
    echo "Install it from https://dotnet.microsoft.com/download and run this script again." >&2
    exit 1
  fi
  export DOTNET_CLI_TELEMETRY_OPTOUT=1
  export DOTNET_NOLOGO=1
  export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}
