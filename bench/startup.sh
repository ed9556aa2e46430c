#!/usr/bin/env bash
# Start-up benchmark (issues 2 and 16): every q2 command on a small image against a bare JVM start (hello world on
# the same java), and qemu-img, in paired rounds; prints medians of wall time and of CPU time (user+sys of the
# child, from wait4) and their ratios q2/hello, for each JVM in turn.
#
#   bench/startup.sh [--runs N] [--java PATH]... [--hogs N] [--export FILE.json]
#
# --hogs N runs N CPU-bound processes beside the benchmark (issue 16: "on a busy machine").
#
# Without --java it measures the JVM ./q2 picks (Q2_JAVA, else $JAVA_HOME/bin/java, else a Temurin 25 if present,
# else `java`) and then, when it is another JDK, the `java` on PATH (JDK 17 here). --java PATH (repeatable) names
# the JVMs instead, e.g. --java /usr/bin/java for JDK 17 only. qemu-img is included when it is on PATH. The CPU
# ratios are the steadier signal on a shared machine. Not a test: it asserts nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=30
hogs=${HOGS:-0}
javas=()
export_json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --java) javas+=("$2"); shift 2 ;;
    --export) export_json="$2"; shift 2 ;;
    --hogs) hogs="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--java PATH]... [--hogs N] [--export FILE.json]" >&2; exit 2 ;;
  esac
done

"$here/q2" --version >/dev/null   # build once, outside the timings
if [ ${#javas[@]} -eq 0 ]; then
  picked="$("$here/q2" --print-java)"
  javas=("$picked")
  if command -v java >/dev/null && [ "$(readlink -f "$(command -v java)")" != "$(readlink -f "$(command -v "$picked")")" ]; then
    javas+=("$(command -v java)")
  fi
fi

work="$(mktemp -d)"
hog_pids=()
trap 'if [ ${#hog_pids[@]} -gt 0 ]; then kill "${hog_pids[@]}" 2>/dev/null; fi; rm -rf "$work"' EXIT
cat > "$work/Hello.java" <<'JAVA'
public class Hello {
    public static void main(String[] args) {
        System.out.println("hello world");
    }
}
JAVA
javac --release 17 -d "$work" "$work/Hello.java"
cd "$work"
"$here/q2" create -q small.qcow2 64M
"$here/q2" convert -q -O raw small.qcow2 small.raw

if [ "$hogs" -gt 0 ]; then
  for _ in $(seq "$hogs"); do (while :; do :; done) & hog_pids+=($!); done
fi

for java_bin in "${javas[@]}"; do
  export Q2_JAVA="$java_bin"
  jdk="$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p')"
  "$here/q2" info small.qcow2 >/dev/null   # the first run with a JVM makes the launcher's archive

  # Every command on a small image, against hello world, in paired rounds: each round runs hello world and every
  # command once, in an order that rotates from round to round, so that drift in the machine's load (other work,
  # write-back) hits them alike; the ratios are of medians.
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
  echo "java: $java_bin ($jdk); rounds: $runs; CPU-bound processes beside: $hogs"
  printf '%s\n' "${names[@]}" > names.txt
  printf '%s\n' "${cmds[@]}" > cmds.txt
  python3 - "$runs" "${export_json:+$export_json.$jdk}" <<'PY'
import json, os, shlex, statistics, subprocess, sys, time
runs, export = int(sys.argv[1]), sys.argv[2]
names = open("names.txt").read().splitlines()
cmds = [shlex.split(c) for c in open("cmds.txt").read().splitlines()]
wall = {n: [] for n in names}
cpu = {n: [] for n in names}
def run(c):
    t0 = time.perf_counter()
    p = subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)  # the child's own user+sys CPU, which other load hardly moves
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime
for _ in range(2):  # warm-up rounds, not counted
    for c in cmds:
        run(c)
for r in range(runs):
    order = list(range(len(cmds)))
    order = order[r % len(order):] + order[: r % len(order)]
    for i in order:
        w, u = run(cmds[i])
        wall[names[i]].append(w)
        cpu[names[i]].append(u)
hw, hc = statistics.median(wall["hello"]), statistics.median(cpu["hello"])
print("medians (ms) of wall and of CPU (user+sys), and their ratios to hello world (target: at most 1.5):")
print(f"  {'':16s} {'wall':>7s} {'ratio':>6s}   {'cpu':>7s} {'ratio':>6s}")
for n in names:
    w, u = statistics.median(wall[n]), statistics.median(cpu[n])
    print(f"  {n:16s} {w*1000:7.1f} {w/hw:5.2f}x   {u*1000:7.1f} {u/hc:5.2f}x")
if export:
    json.dump({"wall": wall, "cpu": cpu}, open(export, "w"))
PY
done
