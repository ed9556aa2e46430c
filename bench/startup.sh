#!/usr/bin/env bash
# Start-up benchmark (issues 2 and 16): every q2 command on a small image against a bare JVM start (hello world on
# the same java), and qemu-img, in paired rounds; prints the ratios of medians q2/hello.
#
#   bench/startup.sh [--runs N] [--java PATH] [--hogs N] [--export FILE.json]
#
# --hogs N runs N CPU-bound processes beside the benchmark (issue 16: "on a busy machine").
#
# The java used for hello world is the one ./q2 picks (Q2_JAVA, else $JAVA_HOME/bin/java, else a Temurin 25 if
# present, else `java`); pass --java to force one, e.g. --java /usr/bin/java for JDK 17. qemu-img is included
# when it is on PATH. Not a test: it asserts nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=30
hogs=0
java_bin=""
export_json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --java) java_bin="$2"; shift 2 ;;
    --export) export_json="$2"; shift 2 ;;
    --hogs) hogs="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--java PATH] [--hogs N] [--export FILE.json]" >&2; exit 2 ;;
  esac
done

if [ -n "$java_bin" ]; then
  export Q2_JAVA="$java_bin"
fi
# Build (and warm the launcher's archive) once, outside the timings.
"$here/q2" --version >/dev/null
java_bin="$("$here/q2" --print-java 2>/dev/null || true)"
[ -n "$java_bin" ] || java_bin="${Q2_JAVA:-java}"
jdk="$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p')"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/Hello.java" <<'JAVA'
public class Hello {
    public static void main(String[] args) {
        System.out.println("hello world");
    }
}
JAVA
"$(dirname "$(readlink -f "$java_bin")")/javac" -d "$work" "$work/Hello.java" 2>/dev/null \
  || javac --release 17 -d "$work" "$work/Hello.java"
cd "$work"
"$here/q2" create -q small.qcow2 64M
"$here/q2" info small.qcow2 >/dev/null   # first run may create the launcher's archive

# Every command on a small image, against hello world, in paired rounds: each round runs hello world and every
# command once, in an order that rotates from round to round, so that drift in the machine's load (other work,
# write-back) hits them alike; the ratios are of medians.
"$here/q2" convert -q -O raw small.qcow2 small.raw
names=(hello "q2 info" "q2 check" "q2 map" "q2 compare" "q2 convert" "q2 create 1T")
cmds=(
  "$java_bin -cp $work Hello"
  "$here/q2 info small.qcow2"
  "$here/q2 check small.qcow2"
  "$here/q2 map small.qcow2"
  "$here/q2 compare small.qcow2 small.raw"
  "$here/q2 convert -O qcow2 small.qcow2 conv.qcow2"
  "$here/q2 create -o extended_l2=on,cluster_size=128k x.qcow2 1T"
)
if command -v qemu-img >/dev/null; then
  names+=("qemu-img info" "qemu-img check")
  cmds+=("qemu-img info small.qcow2" "qemu-img check small.qcow2")
fi
hog_pids=()
if [ "$hogs" -gt 0 ]; then
  for _ in $(seq "$hogs"); do (while :; do :; done) & hog_pids+=($!); done
fi
trap 'kill "${hog_pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
echo "java: $java_bin ($jdk); rounds: $runs; CPU-bound processes beside: $hogs"
printf '%s\n' "${names[@]}" > names.txt
printf '%s\n' "${cmds[@]}" > cmds.txt
python3 - "$runs" "${export_json:-}" <<'PY'
import json, shlex, statistics, subprocess, sys, time
runs, export = int(sys.argv[1]), sys.argv[2]
names = open("names.txt").read().splitlines()
cmds = [shlex.split(c) for c in open("cmds.txt").read().splitlines()]
times = {n: [] for n in names}
for _ in range(2):  # warm-up rounds, not counted
    for c in cmds:
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for r in range(runs):
    order = list(range(len(cmds)))
    order = order[r % len(order):] + order[: r % len(order)]
    for i in order:
        t0 = time.perf_counter()
        subprocess.run(cmds[i], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[names[i]].append(time.perf_counter() - t0)
h = statistics.median(times["hello"])
print("median (ms), and ratio of medians to hello world (target: at most 1.5 for q2's commands):")
for n in names:
    m = statistics.median(times[n])
    print(f"  {n:16s} {m*1000:7.1f}   {m/h:5.2f}x")
if export:
    json.dump({n: times[n] for n in names}, open(export, "w"))
PY
