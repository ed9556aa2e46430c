#!/bin/sh
# q2 commit and safe q2 rebase vs qemu-img, side by side in paired rounds (issue 14's target: q2 <= 1.0x):
#   a SIZE overlay (default 4G) with a quarter of it in scattered 64 KiB clusters over a SIZE base with its own
#   scattered data; "commit" commits the overlay into a fresh copy of the base each round, "rebase" rebases a fresh
#   copy of the overlay onto an empty image of the same size (every allocated base cluster is copied up).
# Usage: bench/chain-vs-qemu.sh [runs] [size-in-GiB]. Checks the guest data of both results before timing.
set -eu
. "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3
build
runs=${1:-3}
gib=${2:-4}
clusters=$((gib * 16384))
qemu-img create -q -f qcow2 "$TMP/base0.qcow2" "${gib}G"
qemu-img create -q -f qcow2 -b base0.qcow2 -F qcow2 "$TMP/top0.qcow2" "${gib}G"
qemu-img create -q -f qcow2 "$TMP/empty.qcow2" "${gib}G"
python3 - "$clusters" 1 > "$TMP/base.txt" <<'PY'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
random.seed(seed)
for c in sorted(random.sample(range(n), n // 8)):
    print("write -q -P %d %d 64k" % (c % 251 + 1, c * 65536))
PY
python3 - "$clusters" 2 > "$TMP/top.txt" <<'PY'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
random.seed(seed)
for c in sorted(random.sample(range(n), n // 4)):
    print("write -q -P %d %d 64k" % ((c * 7) % 251 + 1, c * 65536))
PY
qemu-io "$TMP/base0.qcow2" < "$TMP/base.txt" > /dev/null
qemu-io "$TMP/top0.qcow2" < "$TMP/top.txt" > /dev/null
PYTHONPATH="$ROOT/bench" python3 - "$runs" "$TMP" "$Q2" <<'PY'
import os, shutil, statistics, subprocess, sys, time
from paired import rounds
runs, tmp, q2 = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def fresh():
    for f in ("base.qcow2", "top.qcow2"):
        shutil.copyfile(f"{tmp}/{f[:-6]}0.qcow2", f"{tmp}/{f}")
    subprocess.run(["qemu-img", "rebase", "-u", "-b", "base.qcow2", "-F", "qcow2", f"{tmp}/top.qcow2"], check=True)
    subprocess.run(["sync"], check=True)
def timed(cmd):
    fresh()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
    return time.perf_counter() - t
cases = (
    ("commit", ["qemu-img", "commit", "top.qcow2"], [q2, "commit", "top.qcow2"]),
    ("rebase", ["qemu-img", "rebase", "-b", "empty.qcow2", "-F", "qcow2", "top.qcow2"],
     [q2, "rebase", "-b", "empty.qcow2", "-F", "qcow2", "top.qcow2"]),
)
for name, qemu, ours in cases:
    timed(qemu)
    shutil.copyfile(f"{tmp}/base.qcow2", f"{tmp}/qemu-base.qcow2")
    shutil.copyfile(f"{tmp}/top.qcow2", f"{tmp}/qemu-top.qcow2")
    timed(ours)
    target = "base.qcow2" if name == "commit" else "top.qcow2"
    r = subprocess.run(["qemu-img", "compare", "-q", f"qemu-{target}", target], cwd=tmp)
    if r.returncode != 0:
        sys.exit(f"chain-vs-qemu: {name} results differ")
    tq, tj = rounds(runs, timed, qemu, ours)
    mq, mj = statistics.median(tq), statistics.median(tj)
    print(f"{name}: qemu-img {mq*1000:.0f} ms, q2 {mj*1000:.0f} ms (medians of {runs}), q2/qemu-img {mj/mq:.2f}")
PY
