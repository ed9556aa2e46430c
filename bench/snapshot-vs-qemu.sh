#!/bin/bash
# Times `qemu-img snapshot -c` and `-d` against q2's on a 64 GiB qcow2 image with 64 KiB clusters and
# preallocation=metadata (1M data clusters, 128 L2 tables, sparse): the issue 13 speed case. Each run works on a
# fresh sparse copy; the files must be identical afterwards (dates aside) before the times mean anything.
# Usage: bench/snapshot-vs-qemu.sh [RUNS]   (needs qemu-img, java; runs q2 through the ./q2 launcher)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build
RUNS=${1:-5}
cd "$TMP"
qemu-img create -q -f qcow2 -o preallocation=metadata big.qcow2 64G
now() { date +%s%N; }
declare -A total
for tool in qemu-img "$Q2"; do total["$tool c"]=0; total["$tool d"]=0; done
for ((i = 0; i < RUNS; i++)); do
  for tool in qemu-img "$Q2"; do
    cp --sparse=always big.qcow2 run.qcow2
    t0=$(now); $tool snapshot -c s run.qcow2; t1=$(now); $tool snapshot -d s run.qcow2; t2=$(now)
    total["$tool c"]=$(( ${total["$tool c"]} + t1 - t0 ))
    total["$tool d"]=$(( ${total["$tool d"]} + t2 - t1 ))
    cp --sparse=always run.qcow2 "after-$(basename "$tool").qcow2"
  done
done
# (no snapshot is left, so the files must be identical byte for byte)
cmp after-qemu-img.qcow2 after-q2.qcow2
for op in c d; do
  q=$(( ${total["qemu-img $op"]} / RUNS / 1000000 )); j=$(( ${total["$Q2 $op"]} / RUNS / 1000000 ))
  echo "snapshot -$op: qemu-img ${q} ms   q2 ${j} ms   ratio q2/qemu-img: $(python3 -c "print(f'{$j/$q:.2f}')")"
done
