#!/bin/bash
# Times `qemu-img snapshot -c` and `-d` against q2's on a 64 GiB qcow2 image with 64 KiB clusters and
# preallocation=metadata (1M data clusters, 128 L2 tables, sparse): the issue 13 speed case. Checks first that both
# tools leave identical files after -c then -d, then runs each operation in paired rounds, alternating which tool
# goes first, each on a fresh sparse copy made outside the timing (for -d, a copy with qemu-img's snapshot), and
# prints wall and CPU (user+sys) medians and the ratios q2/qemu-img (bench/ab-cpu.py).
# Usage: bench/snapshot-vs-qemu.sh [RUNS]   (needs qemu-img, python3, java; runs q2 through the ./q2 launcher)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build
RUNS=${1:-5}
cd "$TMP"
qemu-img create -q -f qcow2 -o preallocation=metadata big.qcow2 64G
for tool in qemu-img "$Q2"; do
  cp --sparse=always big.qcow2 run.qcow2
  $tool snapshot -c s run.qcow2; $tool snapshot -d s run.qcow2
  cp --sparse=always run.qcow2 "after-$(basename "$tool").qcow2"
done
cmp after-qemu-img.qcow2 after-q2.qcow2  # (no snapshot is left, so the files must be identical byte for byte)
cp --sparse=always big.qcow2 snap.qcow2
qemu-img snapshot -c s snap.qcow2
echo "snapshot -c (A = qemu-img, B = q2; target B/A <= 1.00)"
python3 "$ROOT/bench/ab-cpu.py" "$RUNS" "qemu-img snapshot -c s $TMP/run.qcow2" "$Q2 snapshot -c s $TMP/run.qcow2" \
  --pre "cp --sparse=always $TMP/big.qcow2 $TMP/run.qcow2"
echo "snapshot -d (A = qemu-img, B = q2; target B/A <= 1.00)"
python3 "$ROOT/bench/ab-cpu.py" "$RUNS" "qemu-img snapshot -d s $TMP/run.qcow2" "$Q2 snapshot -d s $TMP/run.qcow2" \
  --pre "cp --sparse=always $TMP/snap.qcow2 $TMP/run.qcow2"
