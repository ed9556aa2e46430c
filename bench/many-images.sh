#!/bin/bash
# Issue 16, "many images in one call": `q2 check` of N images in one call against a shell loop of `qemu-img check`
# (what a CI script does today), on N small empty images and on N images holding 64 MiB of written data each,
# side by side with hyperfine; prints the ratios (target: at most 0.5).
# Usage: bench/many-images.sh [N] [RUNS]   (default 200 images, 5 runs; needs qemu-img, qemu-io, hyperfine)
# The data images take N x 64 MiB of disk (12.5 GiB for 200; copies of one image, sparse where the disk allows).
set -euo pipefail
N=${1:-200}
RUNS=${2:-5}
. "$(dirname "$0")/lib.sh"
build
mkdir "$TMP/small" "$TMP/data"
qemu-img create -q -f qcow2 "$TMP/small/seed.qcow2" 1G
qemu-img create -q -f qcow2 "$TMP/data/seed.qcow2" 1G
qemu-io -c "write -P 0x5a 0 64M" "$TMP/data/seed.qcow2" >/dev/null
for kind in small data; do
  for i in $(seq -w 1 "$N"); do cp --reflink=auto "$TMP/$kind/seed.qcow2" "$TMP/$kind/img$i.qcow2"; done
  rm "$TMP/$kind/seed.qcow2"
done
start_hogs
for kind in small data; do
  cd "$TMP/$kind"
  # both must say the same before their times mean anything
  diff <(for f in img*.qcow2; do echo "image: $f"; qemu-img check "$f"; done | sed '1!{/^image:/s/^/\n/}') \
       <("$Q2" check img*.qcow2) >/dev/null || { echo "bench: q2 and qemu-img disagree on $kind" >&2; exit 1; }
  hyperfine --warmup 1 --runs "$RUNS" --export-json "$TMP/$kind.json" --output=null \
      -n "qemu-img loop" 'for f in img*.qcow2; do qemu-img check "$f"; done' \
      -n "q2 one call" "$Q2 check img*.qcow2" >/dev/null
  python3 - "$TMP/$kind.json" "$kind" "$N" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
q, j = r["qemu-img loop"]["median"], r["q2 one call"]["median"]
print(f"{sys.argv[3]} {sys.argv[2]} images: qemu-img loop {q*1000:.0f} ms, q2 one call {j*1000:.0f} ms, "
      f"ratio of medians {j/q:.2f} (target <= 0.50)")
PY
done
