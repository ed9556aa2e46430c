#!/usr/bin/env bash
# Start-up in instructions (issue 16): every q2 command on a small image against a hello world on the same java,
# counted with valgrind's callgrind (user-space instructions of every thread and of every process the command
# execs: ./q2's launcher and the JVM). Unlike wall and CPU time, the counts do not move with other load on the
# machine (repeatable to about 1 %), so one run per command tells whether a change to start-up pays, even while
# other builds run beside (docs/performance.md, "Session 7"). What they leave out is the kernel's share (exec,
# page faults, mmap), which bench/startup.sh's CPU times include; use both.
#
#   bench/startup-instructions.sh [--java PATH]... [--runs N] [COMMAND...]
#
# COMMAND is one of info check map compare convert create (all when none is given). --runs N takes the median of
# N counts per command (default 1). Without --java: the JVM ./q2 picks and then the `java` on PATH, as
# bench/startup.sh does. Needs valgrind. Not a test: it asserts nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
javas=()
runs=1
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --java) javas+=("$2"); shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    info|check|map|compare|convert|create) only+=("$1"); shift ;;
    *) echo "usage: $0 [--java PATH]... [--runs N] [info|check|map|compare|convert|create]..." >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "$0: needs valgrind" >&2; exit 1; }
"$here/q2" --version >/dev/null   # build once
if [ ${#javas[@]} -eq 0 ]; then
  picked="$("$here/q2" --print-java)"
  javas=("$picked")
  if command -v java >/dev/null && [ "$(readlink -f "$(command -v java)")" != "$(readlink -f "$(command -v "$picked")")" ]; then
    javas+=("$(command -v java)")
  fi
fi
[ ${#only[@]} -gt 0 ] || only=(info check map compare convert create)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
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

# Instructions of one command: the sum over the processes it runs (--trace-children follows ./q2's execs).
count() {
  rm -rf "$work/cg" && mkdir "$work/cg"
  valgrind --tool=callgrind --trace-children=yes --smc-check=all-non-file \
    --callgrind-out-file="$work/cg/out.%p" "$@" >/dev/null 2>"$work/cg/log" || true
  cat "$work"/cg/out.* | sed -n 's/^summary: *//p' | awk '{s += $1} END {print s}'
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

for java_bin in "${javas[@]}"; do
  export Q2_JAVA="$java_bin"
  jdk="$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p')"
  hello="$(for _ in $(seq "$runs"); do count "$java_bin" -cp "$work" Hello; done | median)"
  echo "java: $java_bin ($jdk); millions of instructions (median of $runs), ratio to hello world:"
  printf '  %-10s %8.1f\n' hello "$(echo "$hello / 1000000" | bc -l)"
  for c in "${only[@]}"; do
    case "$c" in
      info) args=(info small.qcow2) ;;
      check) args=(check small.qcow2) ;;
      map) args=(map small.qcow2) ;;
      compare) args=(compare small.qcow2 small.raw) ;;
      convert) args=(convert -O qcow2 small.qcow2 conv.qcow2) ;;
      create) args=(create -o extended_l2=on,cluster_size=128k x.qcow2 1T) ;;
    esac
    "$here/q2" "${args[@]}" >/dev/null 2>&1 || true   # the first run of a command may make its archive (JDK 25)
    n="$(for _ in $(seq "$runs"); do rm -f conv.qcow2 x.qcow2; count "$here/q2" "${args[@]}"; done | median)"
    printf '  %-10s %8.1f  %5.2fx\n' "$c" "$(echo "$n / 1000000" | bc -l)" "$(echo "$n / $hello" | bc -l)"
  done
done
