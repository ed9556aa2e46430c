#!/bin/sh
# q2 convert vs qemu-img convert, side by side with hyperfine:
#   1. qcow2 -> raw of a 2 GiB image with 16384 scattered 64 KiB data clusters (target: q2 <= 1.0x qemu-img)
#   2. raw -> qcow2 of the raw file that produced (same target)
# Usage: bench/convert-vs-qemu.sh [runs]. Checks that both tools produce the same guest data before timing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
q2="$root/q2"
for tool in qemu-img qemu-io hyperfine python3; do
    command -v $tool >/dev/null || { echo "convert-vs-qemu: $tool not found" >&2; exit 2; }
done
"$q2" --version >/dev/null   # builds target/q2.jar if needed
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/scattered-2G.qcow2
qemu-img create -q -f qcow2 "$img" 2G
python3 - > "$tmp/writes.txt" <<'PY'
import random
random.seed(42)
for c in sorted(random.sample(range(32768), 16384)):
    print("write -q -P %d %d 64k" % (c % 251 + 1, c * 65536))
PY
qemu-io "$img" < "$tmp/writes.txt" > /dev/null
qemu-img convert -O raw "$img" "$tmp/qemu.raw"
"$q2" convert -O raw "$img" "$tmp/q2.raw"
cmp "$tmp/qemu.raw" "$tmp/q2.raw" || { echo "convert-vs-qemu: raw outputs differ" >&2; exit 1; }
"$q2" convert -f raw -O qcow2 "$tmp/qemu.raw" "$tmp/q2.qcow2"
qemu-img compare -q "$tmp/qemu.raw" "$tmp/q2.qcow2" || { echo "convert-vs-qemu: qcow2 output differs" >&2; exit 1; }
echo "outputs identical; timing with $runs runs each"
# Before each run, outside the timing, the outputs of the last one are deleted and the page cache written back:
# otherwise a run pays for freeing (and, on a disk mounted with discard, trimming) the previous run's gigabyte,
# and the figures swing by a hundred milliseconds either way.
clean="sh -c 'rm -f $tmp/out-qemu.raw $tmp/out-q2.raw $tmp/out-qemu.qcow2 $tmp/out-q2.qcow2; sync'"  # -N: no shell unless asked
hyperfine -N --warmup 1 --runs "$runs" --prepare "$clean" --export-json "$tmp/h1.json" \
    -n qemu-img "qemu-img convert -O raw $img $tmp/out-qemu.raw" \
    -n q2 "$q2 convert -O raw $img $tmp/out-q2.raw"
hyperfine -N --warmup 1 --runs "$runs" --prepare "$clean" --export-json "$tmp/h2.json" \
    -n qemu-img "qemu-img convert -f raw -O qcow2 $tmp/qemu.raw $tmp/out-qemu.qcow2" \
    -n q2 "$q2 convert -f raw -O qcow2 $tmp/qemu.raw $tmp/out-q2.qcow2"
python3 - "$tmp/h1.json" "$tmp/h2.json" <<'PY'
import json, sys
for name, path in (("qcow2 -> raw", sys.argv[1]), ("raw -> qcow2", sys.argv[2])):
    r = {x["command"]: x for x in json.load(open(path))["results"]}
    q, j = r["qemu-img"], r["q2"]
    print("%s: qemu-img %.0f ms, q2 %.0f ms, ratio q2/qemu-img %.2f (target <= 1.00)"
          % (name, q["mean"] * 1e3, j["mean"] * 1e3, j["mean"] / q["mean"]))
PY
