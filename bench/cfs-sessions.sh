#!/usr/bin/env bash
# Creates 10,000 CFS sessions through the v3 API, then pages through them with limit=100 and
# prints the create throughput and the p50/p99 time per page (target: p99 under 50 ms).
#   bench/cfs-sessions.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
source bench/lib.sh
start_bench_server

# One keep-alive connection, as an API client would use; the figures are the server's.
python3 - "$port" "$count" "$work" <<'PY'
import http.client, json, statistics, subprocess, sys, time
port, count, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
repo = f"{work}/repo"
subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
open(f"{repo}/site.yml", "w").write("- hosts: all\n")
subprocess.run(["git", "-C", repo, "add", "site.yml"], check=True)
subprocess.run(["git", "-C", repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-q", "-m", "init"], check=True)
connection = http.client.HTTPConnection("127.0.0.1", port)

def call(method, path, body=None):
    connection.request(method, path, body=None if body is None else json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data) if data else None

call("PUT", "/apis/cfs/v3/configurations/bench", {"layers": [{"clone_url": repo, "branch": "main", "playbook": "site.yml"}]})
start = time.perf_counter()
for index in range(count):
    call("POST", "/apis/cfs/v3/sessions", {"name": f"bench-{index:05d}", "configuration_name": "bench",
         "target": {"definition": "image", "groups": [{"name": "Compute", "members": ["5d64c8b2-4f0e-4b2e-b334-51daba16b7fb"]}], "image_map": []}})
created = time.perf_counter() - start

pages, seen, query = [], 0, "limit=100"
while True:
    began = time.perf_counter()
    page = call("GET", f"/apis/cfs/v3/sessions?{query}")
    pages.append((time.perf_counter() - began) * 1000)
    seen += len(page["sessions"])
    if not page["next"]:
        break
    query = f"limit=100&after_id={page['next']['after_id']}"
assert seen == count, (seen, count)
pages.sort()
p99 = pages[min(len(pages) - 1, int(round(0.99 * len(pages))) - 1)]
print(f"sessions created:     {count} in {created:.1f} s ({count / created:.0f} per second)")
print(f"pages of 100:         {len(pages)}")
print(f"time per page:        p50 {statistics.median(pages):.1f} ms, p99 {p99:.1f} ms, max {pages[-1]:.1f} ms (target: p99 under 50 ms)")
PY
