#!/usr/bin/env bash
# Start-up benchmark for issue 2 ("Speed"): q2 info / q2 create against a bare JVM start (hello world on the same
# java) and qemu-img, side by side in one hyperfine run, then the ratios q2/hello.
#
#   bench/startup.sh [--runs N] [--java PATH] [--export FILE.json]
#
# The java used for hello world is the one ./q2 picks (Q2_JAVA, else $JAVA_HOME/bin/java, else a Temurin 25 if
# present, else `java`); pass --java to force one, e.g. --java /usr/bin/java for JDK 17. hyperfine is required
# (apt-get install hyperfine); qemu-img is included when it is on PATH. Not a test: it asserts nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=30
java_bin=""
export_json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --java) java_bin="$2"; shift 2 ;;
    --export) export_json="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--java PATH] [--export FILE.json]" >&2; exit 2 ;;
  esac
done
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 1; }

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

cmds=(
  "$java_bin -cp $work Hello"
  "$here/q2 info small.qcow2"
  "$here/q2 create -o extended_l2=on,cluster_size=128k x.qcow2 1T"
)
names=(hello "q2 info" "q2 create 1T")
if command -v qemu-img >/dev/null; then
  cmds+=("qemu-img info small.qcow2" "qemu-img create -f qcow2 -o extended_l2=on,cluster_size=128k y.qcow2 1T")
  names+=("qemu-img info" "qemu-img create 1T")
fi
args=()
for i in "${!cmds[@]}"; do
  args+=(-n "${names[$i]}" "${cmds[$i]}")
done
json="${export_json:-$work/result.json}"
echo "java: $java_bin ($jdk); runs: $runs"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$json" --output=null "${args[@]}"
python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
h = r["hello"]["mean"]
print("\nmean ± σ (ms) and ratio to hello world:")
for name, x in r.items():
    print(f"  {name:20s} {x['mean']*1000:7.1f} ± {x['stddev']*1000:5.1f}   {x['mean']/h:5.2f}×")
PY
