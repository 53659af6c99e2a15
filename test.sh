#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, checks formatting, and runs every test.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh
ensure_dotnet
ensure_packages mksquashfs unsquashfs mmdebstrap sshd ssh ssh-keygen ansible-playbook git jq curl kiwi-ng debootstrap rsync bwrap unshare nsenter slirp4netns getcap setpriv ip openssl setfattr sqfsdiff rpm rpmbuild
ensure_postgresql
ensure_ceph_rgw

echo "==> Building (Release)"
dotnet build Cray.slnx -c Release -nologo -v quiet

echo "==> Checking formatting"
dotnet format Cray.slnx --verify-no-changes --no-restore

echo "==> Base image for the job tests (cached after the first run)"
export CRAY_TEST_BASE_IMAGE
CRAY_TEST_BASE_IMAGE=$(scripts/base-image.sh)

# The reference contract check reads the reference's OpenAPI documents, which sit beside the clone.
filter=()
if [ -d ../shared/reference/openapi ]; then
  CRAY_REFERENCE_OPENAPI=$(cd ../shared/reference/openapi && pwd)
  export CRAY_REFERENCE_OPENAPI
else
  echo "==> ../shared/reference/openapi is absent: the reference contract check is not run"
  filter=(--filter "Category!=ReferenceContract")
fi

echo "==> Running tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Cray.slnx -c Release --no-build -nologo "${filter[@]}" 2>&1 | tee "$log" || status=$?

# One summary line over all test projects, in the plain form CI reads.
awk '
  /(Passed|Failed)!/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:") failed += $(i + 1)
      if ($i == "Passed:") passed += $(i + 1)
      if ($i == "Skipped:") skipped += $(i + 1)
    }
  }
  END { gsub(",", "", passed); printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }
' "$log"
exit "$status"
