#!/bin/bash
# Issue 16, compressed convert: `convert -c -O qcow2` (zlib and zstd) of a mixed raw disk (a quarter random data, a
# quarter text, half zeros, in 1 MiB pieces) by qemu-img and by q2, in paired rounds of alternating order; prints
# the ratio of medians (target: at most 1.0). Both outputs are checked with `qemu-img compare` first.
# Usage: bench/convert-compressed.sh [SIZE_MIB] [ROUNDS]   (default 512 MiB, 5 rounds; needs qemu-img, python3)
set -euo pipefail
MIB=${1:-512}
ROUNDS=${2:-5}
. "$(dirname "$0")/lib.sh"
build
python3 - "$TMP/mixed.raw" "$MIB" <<'PY'
import os, random, sys
path, mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(16)
words = [b"qcow2", b"cluster", b"refcount", b"the", b"backing", b"image", b"guest", b"l2", b"table", b"of"]
with open(path, "wb") as f:
    for i in range(mib):
        kind = i % 4
        if kind == 0:
            f.write(os.urandom(1 << 20))
        elif kind == 1:
            text = b" ".join(rnd.choice(words) for _ in range(200000))
            f.write((text * 2)[: 1 << 20])
        else:
            f.seek(1 << 20, 1)  # zeros (a hole)
    f.truncate(mib << 20)
PY
start_hogs
for type in zlib zstd; do
  rm -f "$TMP"/q.qcow2 "$TMP"/j.qcow2
  qemu-img convert -c -f raw -O qcow2 -o compression_type=$type "$TMP/mixed.raw" "$TMP/q.qcow2"
  "$Q2" convert -c -f raw -O qcow2 -o compression_type=$type "$TMP/mixed.raw" "$TMP/j.qcow2"
  qemu-img compare -q "$TMP/q.qcow2" "$TMP/j.qcow2"
  cmp -s "$TMP/q.qcow2" "$TMP/j.qcow2" && same="byte-identical" || same="same guest data, different files"
  python3 - "$Q2" "$TMP" "$type" "$ROUNDS" "$same" <<'PY'
import statistics, subprocess, sys, time
q2, tmp, ctype, rounds, same = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
cmds = {
    "qemu-img": ["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", f"compression_type={ctype}",
                 f"{tmp}/mixed.raw", f"{tmp}/q.qcow2"],
    "q2": [q2, "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", f"compression_type={ctype}",
           f"{tmp}/mixed.raw", f"{tmp}/j.qcow2"],
}
times = {k: [] for k in cmds}
for r in range(rounds):
    for name in (["qemu-img", "q2"] if r % 2 == 0 else ["q2", "qemu-img"]):
        t0 = time.perf_counter()
        subprocess.run(cmds[name], check=True)
        times[name].append(time.perf_counter() - t0)
mq, mj = statistics.median(times["qemu-img"]), statistics.median(times["q2"])
print(f"{ctype}: qemu-img {mq*1000:.0f} ms, q2 {mj*1000:.0f} ms (medians of {rounds}), ratio {mj/mq:.2f}"
      f" (target <= 1.00); outputs: {same}")
PY
done
