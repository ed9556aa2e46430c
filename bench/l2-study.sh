#!/usr/bin/env bash
# The L2 cache study of docs/l2-cache.md (issue 6), measured through q2's own engine on real on-disk tables.
#
#   bench/l2-study.sh [OUT.jsonl]        (default bench/results/l2-study.jsonl; run from the repository root
#                                         after 'mvn -B -q package -DskipTests')
#
# For 64 KiB, 128 KiB and 2 MiB clusters, each with and without extended L2:
#  * read study, per disk size (64 GiB, 256 GiB, 1 TiB, 4 TiB): q2 info's formula numbers (from a plain image of
#    that geometry, a few KiB), then a sparse preallocation=metadata image (every L2 table exists, as on a full
#    disk) and q2 bench with 4 KiB uniformly random reads and QEMU's default cache (whole-disk coverage, at most
#    32 MiB). The warm-up is long enough to load every table the cache can hold. Where the image's metadata
#    would not fit the disk budget the line says so ("measured": false) and carries the formula's numbers only.
#  * write study: a fresh overlay on a fully written raw backing file (made once, reused), q2 bench with 4 KiB
#    uniformly random writes; write amplification, copy-on-write bytes, ops/s; then q2 check on the overlay.
# One JSON object per line; the first line describes the machine and the run.
#
# Environment (defaults in brackets):
#   Q2          command that runs q2                      [java -jar target/q2.jar]
#   WORKDIR     where images go (sparse files)           [mktemp -d under ${TMPDIR:-/tmp}]
#   BUDGET      most image bytes on disk at once         [6G]
#   SIZES       disk sizes of the read study             [64G 256G 1T 4T]
#   READ_COUNT  measured random reads per image          [200000]
#   READ_WARMUP warm-up reads per image                  [50000]
#   BACKING_SIZE size of the raw backing file            [4G]
#   WRITE_MAX   most measured writes per overlay          [5000]
#   REPEATS     write runs per configuration (seeds 1..) [3]
# Needs bash, jq and coreutils.
set -euo pipefail

OUT=${1:-bench/results/l2-study.jsonl}
read -r -a Q2 <<< "${Q2:-java -jar target/q2.jar}"
SIZES=${SIZES:-64G 256G 1T 4T}
READ_COUNT=${READ_COUNT:-200000}
READ_WARMUP=${READ_WARMUP:-50000}
BACKING_SIZE=${BACKING_SIZE:-4G}
WRITE_MAX=${WRITE_MAX:-5000}
REPEATS=${REPEATS:-3}
CONFIGS=("64k off" "64k on" "128k off" "128k on" "2M off" "2M on")

command -v jq >/dev/null || { echo "l2-study: needs jq (apt-get install jq)" >&2; exit 1; }

bytes() { # 64k, 4G, 1T -> bytes
    numfmt --from=iec "${1^^}"
}
BUDGET=$(bytes "${BUDGET:-6G}")
WORKDIR=${WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/q2-l2-study.XXXXXX")}
mkdir -p "$WORKDIR" "$(dirname "$OUT")"
trap 'rm -f "$WORKDIR"/*.qcow2 "$WORKDIR"/backing.raw; rmdir "$WORKDIR" 2>/dev/null || true' EXIT
: > "$OUT"
emit() { jq -c . >> "$OUT"; }
say() { echo "l2-study: $*" >&2; }
q2() { "${Q2[@]}" "$@"; }

start=$(date +%s)
jq -n --arg date "$(date -u +%FT%TZ)" --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
    --argjson cores "$(nproc)" --arg mem "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')" \
    --arg kernel "$(uname -r)" --arg java "$(java -version 2>&1 | head -1)" \
    --arg fs "$(df -T "$WORKDIR" | awk 'NR == 2 {print $2}')" \
    --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --argjson read_count "$READ_COUNT" --argjson read_warmup "$READ_WARMUP" \
    --argjson backing "$(bytes "$BACKING_SIZE")" --argjson budget "$BUDGET" \
    '{study: "machine", date: $date, cpu: $cpu, cores: $cores, memory: $mem, kernel: $kernel, java: $java,
      filesystem: $fs, "q2-commit": $commit, "read-count": $read_count, "read-warmup": $read_warmup,
      "backing-size": $backing, "image-budget": $budget}' | emit

# Bytes a preallocation=metadata image really occupies: its L2 tables, the refcount blocks that cover a file as
# long as the disk (16-bit refcounts: one block covers cluster/2 clusters), and the L1 table.
metadata_bytes() { # cluster full-coverage-bytes size
    local c=$1 l2=$2 size=$3
    local per_block=$(( c / 2 * c ))
    echo $(( l2 + (size / per_block + 2) * c + size / (c * c / 8) * 8 + c ))
}

# ------------------------------------------------------------------ read study
for cfg in "${CONFIGS[@]}"; do
    read -r cs ext <<< "$cfg"
    for size in $SIZES; do
        img="$WORKDIR/read.qcow2"
        q2 create -q -o "cluster_size=$cs,extended_l2=$ext" "$img" "$size"
        info=$(q2 info --output=json "$img" | jq -c '."l2-cache"')
        rm -f "$img"
        c=$(bytes "$cs"); s=$(bytes "$size")
        full=$(jq '."full-coverage-bytes"' <<< "$info")
        tables=$(jq '."l2-tables-for-full-coverage"' <<< "$info")
        cache=$(( full < 32 * 1024 * 1024 ? full : 32 * 1024 * 1024 ))
        cached=$(( cache / c < tables ? cache / c : tables ))
        need=$(metadata_bytes "$c" "$full" "$s")
        free=$(( $(df -B1 --output=avail "$WORKDIR" | tail -1) - 10 * 1024 * 1024 * 1024 ))
        base=$(jq -n --argjson c "$c" --argjson ext "$([ "$ext" = on ] && echo true || echo false)" \
            --argjson s "$s" --argjson info "$info" --argjson cached "$cached" --argjson tables "$tables" \
            --argjson need "$need" \
            '{study: "read", "cluster-size": $c, "extended-l2": $ext, "disk-size": $s, formula: $info,
              "cached-tables": $cached, "predicted-hit-ratio": ($cached / $tables),
              "predicted-l2-reads-per-1000": (1000 * (1 - $cached / $tables)), "metadata-bytes": $need}')
        if (( need > BUDGET || need > free )); then
            say "$cs ext=$ext $size: metadata $need bytes exceeds the budget ($BUDGET) or free space; formula only"
            jq -c '. + {measured: false, reason: "preallocated metadata would not fit the disk budget"}' \
                <<< "$base" | emit
            continue
        fi
        say "$cs ext=$ext $size: $tables tables, cache holds $cached"
        q2 create -q -o "preallocation=metadata,cluster_size=$cs,extended_l2=$ext" "$img" "$size"
        onDisk=$(( $(stat -c %b "$img") * 512 ))
        r=$(q2 bench --output=json --pattern=random --rw=read --io-size=4k --count="$READ_COUNT" \
            --warmup="$READ_WARMUP" --seed=1 "$img")
        rm -f "$img"
        jq -c --argjson r "$r" --argjson onDisk "$onDisk" --argjson warm "$READ_WARMUP" \
            '. + {measured: true, "image-disk-bytes": $onDisk, warmup: $warm, bench: $r,
                  "l2-reads-per-1000": (1000 * $r."l2-cache-misses" / $r.ops)}' <<< "$base" | emit
    done
done

# ------------------------------------------------------------------ write study
backing="$WORKDIR/backing.raw"
bsize=$(bytes "$BACKING_SIZE")
say "writing the ${BACKING_SIZE} raw backing file (random bytes, every byte written)"
head -c "$bsize" /dev/urandom > "$backing"
for cfg in "${CONFIGS[@]}"; do
    read -r cs ext <<< "$cfg"
    c=$(bytes "$cs")
    # Measure the first write to fresh clusters, the regime the article is about: at most one write per 16
    # clusters of the backing file, so fewer than 1 in 32 writes lands in a cluster already copied.
    count=$(( bsize / c / 16 < WRITE_MAX ? bsize / c / 16 : WRITE_MAX ))
    for seed in $(seq 1 "$REPEATS"); do
        ov="$WORKDIR/overlay.qcow2"
        q2 create -q -o "cluster_size=$cs,extended_l2=$ext" -b "$backing" -F raw "$ov" "$bsize"
        r=$(q2 bench --output=json --pattern=random --rw=write --io-size=4k --count="$count" --seed="$seed" "$ov")
        rc=0; q2 check "$ov" > /dev/null || rc=$?
        onDisk=$(( $(stat -c %b "$ov") * 512 ))
        rm -f "$ov"
        say "$cs ext=$ext writes seed $seed: $(jq -c '{"write-amplification", "cow-bytes", "ops-per-second"}' <<< "$r")"
        jq -n --argjson c "$c" --argjson ext "$([ "$ext" = on ] && echo true || echo false)" \
            --argjson bsize "$bsize" --argjson seed "$seed" --argjson r "$r" --argjson rc "$rc" \
            --argjson onDisk "$onDisk" \
            '{study: "write", "cluster-size": $c, "extended-l2": $ext, "backing-size": $bsize, seed: $seed,
              bench: $r, "check-exit-code": $rc, "overlay-disk-bytes": $onDisk,
              "metadata-bytes-written": ($r."host-bytes-written" - $r."guest-bytes-written" - $r."cow-bytes"),
              "data-amplification": (($r."guest-bytes-written" + $r."cow-bytes") / $r."guest-bytes-written")}' | emit
    done
done
rm -f "$backing"
say "done in $(( $(date +%s) - start )) s: $OUT"
