#!/bin/sh
# q2 map vs qemu-img map, side by side with hyperfine, on a 32 GiB qcow2 image with 4 KiB clusters made with
# preallocation=metadata (16384 extents: one per L2 table, every one zero-but-allocated over a sparse file).
# Usage: bench/map-vs-qemu.sh [runs]   (run from anywhere; builds target/q2.jar if it is missing)
# Prints hyperfine's table, both means and the ratio q2/qemu-img (the target is at most 0.70), and checks that
# both printed the same bytes.
set -eu
. "$(dirname "$0")/lib.sh"
need qemu-img hyperfine java
build
runs=${1:-5}
img=$TMP/prealloc-32G-4k.qcow2
qemu-img create -q -f qcow2 -o cluster_size=4096,preallocation=metadata "$img" 32G
qemu-img map --output=json "$img" > "$TMP/qemu.json"
"$Q2" map --output=json "$img" > "$TMP/q2.json"
if cmp -s "$TMP/qemu.json" "$TMP/q2.json"; then
    echo "outputs identical: $(wc -l < "$TMP/q2.json") extents"
else
    echo "map-vs-qemu: q2 and qemu-img print different maps" >&2
    exit 1
fi
start_hogs
hyperfine -N --warmup 1 --runs "$runs" --export-json "$TMP/h.json" \
    -n qemu-img "qemu-img map --output=json $img" \
    -n q2 "$Q2 map --output=json $img"
python3 - "$TMP/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
q, j = r["qemu-img"], r["q2"]
print("qemu-img: mean %.1f ms  median %.1f ms  user %.1f ms  sys %.1f ms" % (q["mean"]*1e3, q["median"]*1e3, q["user"]*1e3, q["system"]*1e3))
print("q2:       mean %.1f ms  median %.1f ms  user %.1f ms  sys %.1f ms" % (j["mean"]*1e3, j["median"]*1e3, j["user"]*1e3, j["system"]*1e3))
print("ratio q2/qemu-img: mean %.2f  median %.2f  (target <= 0.70)" % (j["mean"]/q["mean"], j["median"]/q["median"]))
PY
