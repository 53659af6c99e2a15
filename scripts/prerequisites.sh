# Sourced by quickstart.sh and test.sh: installs what a fresh Debian 12 machine lacks.

# Debian packages the project needs, by the command that proves each is present.
declare -A CRAY_PACKAGES=(
  [mksquashfs]=squashfs-tools
  [unsquashfs]=squashfs-tools
  [mmdebstrap]=mmdebstrap
  [git]=git
  [jq]=jq
  [curl]=curl
)

ensure_packages() {
  local missing=()
  local command
  for command in "$@"; do
    if ! command -v "$command" >/dev/null 2>&1; then
      missing+=("${CRAY_PACKAGES[$command]}")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  # De-duplicate: several commands come from one package.
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "==> Installing missing packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
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
