#!/bin/bash
# Times `qemu-img check` against `q2 check` on a 32 GiB qcow2 image with 4 KiB clusters and
# preallocation=metadata (8M clusters, ~80 MiB of metadata, sparse), side by side with hyperfine.
# Usage: bench/check-vs-qemu.sh   (needs qemu-img, hyperfine, java; runs q2 through the ./q2 launcher)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build
cd "$TMP"
qemu-img create -q -f qcow2 -o cluster_size=4k,preallocation=metadata big.qcow2 32G
# both tools must agree before their times mean anything
diff <(qemu-img check --output=json big.qcow2) <("$Q2" check --output=json big.qcow2)
start_hogs
hyperfine --warmup 1 --runs 5 -N --export-json "$TMP/check.json" \
    'qemu-img check big.qcow2' "$Q2 check big.qcow2"
python3 - "$TMP/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
q, j = r[0]["mean"], r[1]["mean"]
print(f"qemu-img check: {q*1000:.0f} ms   q2 check: {j*1000:.0f} ms   ratio q2/qemu-img: {j/q:.2f} (target <= 0.70)")
PY
