#!/bin/sh
# q2 convert vs qemu-img convert, side by side in paired rounds:
#   1. qcow2 -> raw of a 2 GiB image with 16384 scattered 64 KiB data clusters (target: q2 <= 1.0x qemu-img)
#   2. raw -> qcow2 of the raw file that produced (same target)
# Usage: bench/convert-vs-qemu.sh [runs]. Checks that both tools produce the same guest data before timing.
set -eu
. "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3
build
runs=${1:-5}
img=$TMP/scattered-2G.qcow2
qemu-img create -q -f qcow2 "$img" 2G
python3 - > "$TMP/writes.txt" <<'PY'
import random
random.seed(42)
for c in sorted(random.sample(range(32768), 16384)):
    print("write -q -P %d %d 64k" % (c % 251 + 1, c * 65536))
PY
qemu-io "$img" < "$TMP/writes.txt" > /dev/null
qemu-img convert -O raw "$img" "$TMP/qemu.raw"
"$Q2" convert -O raw "$img" "$TMP/q2.raw"
cmp "$TMP/qemu.raw" "$TMP/q2.raw" || { echo "convert-vs-qemu: raw outputs differ" >&2; exit 1; }
"$Q2" convert -f raw -O qcow2 "$TMP/qemu.raw" "$TMP/q2.qcow2"
qemu-img compare -q "$TMP/qemu.raw" "$TMP/q2.qcow2" || { echo "convert-vs-qemu: qcow2 output differs" >&2; exit 1; }
start_hogs
echo "outputs identical; timing with $runs rounds"
# Paired rounds instead of hyperfine's blocks: each round runs both tools once, in alternating order, each after
# deleting the last outputs and writing back the page cache outside the timing. The machine's disk writes back
# gigabytes behind these runs and its speed drifts over a minute; blocks of runs of one tool then of the other
# turn that drift into a difference between the tools, pairs do not. Without the clean-up a run would also pay for
# freeing (and, on a disk mounted with discard, trimming) the previous run's gigabyte.
PYTHONPATH="$ROOT/bench" python3 - "$runs" "$TMP" "$img" "$Q2" <<'PY'
import os, statistics, subprocess, sys, time
from paired import rounds
runs, tmp, img, q2 = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
outs = [f"{tmp}/out-{t}.{e}" for t in ("qemu", "q2") for e in ("raw", "qcow2")]
cases = (
    ("qcow2 -> raw", ["qemu-img", "convert", "-O", "raw", img, f"{tmp}/out-qemu.raw"],
     [q2, "convert", "-O", "raw", img, f"{tmp}/out-q2.raw"]),
    ("raw -> qcow2", ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", f"{tmp}/qemu.raw", f"{tmp}/out-qemu.qcow2"],
     [q2, "convert", "-f", "raw", "-O", "qcow2", f"{tmp}/qemu.raw", f"{tmp}/out-q2.qcow2"]),
)
def timed(cmd):
    for o in outs:
        if os.path.exists(o):
            os.remove(o)
    subprocess.run(["sync"], check=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
for name, qemu, ours in cases:
    timed(qemu), timed(ours)  # warm-up round
    tq, tj = rounds(runs, timed, qemu, ours)
    ratios = [j / q for j, q in zip(tj, tq)]
    print("%s: qemu-img mean %.0f ms (median %.0f), q2 mean %.0f ms (median %.0f); ratio q2/qemu-img of the means"
          " %.2f, median of the %d paired ratios %.2f (target <= 1.00)"
          % (name, statistics.mean(tq) * 1e3, statistics.median(tq) * 1e3, statistics.mean(tj) * 1e3,
             statistics.median(tj) * 1e3, statistics.mean(tj) / statistics.mean(tq), runs, statistics.median(ratios)))
PY
