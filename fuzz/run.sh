#!/bin/bash
# Runs a coverage-guided fuzzing campaign on one q2 fuzz target (Jazzer, through its JUnit integration).
#
#   fuzz/run.sh TARGET MINUTES [extra libFuzzer flags...]
#
# TARGET: header | open | check | repair | map | read | inspect | snapshot | rebase | commit | args | jsonname |
# imageopts | luks | secret | snapparam
# (args: bitmap, dd, resize, amend arguments; jsonname: json: image names; imageopts: --image-opts text and plain
# names; luks: LUKS headers and key slots; secret: --object secret text; snapparam: convert/measure -l), or
# Class#method.
# The JVM gets a small heap (FUZZ_HEAP, default 256m) so that an allocation sized from an unchecked field shows
# up as an OutOfMemoryError finding; libFuzzer stops an input after FUZZ_TIMEOUT seconds (default 10) and the
# process above FUZZ_RSS_MB (default 1536). Findings (crash-*, timeout-*, oom-*) are written into the target's
# inputs folder under src/test/resources/dev/q2/fuzz/, where `mvn verify` runs them as regression inputs; the
# corpus the campaign grows is kept in .cifuzz-corpus/ (not committed). Distinct findings are collected up to
# FUZZ_KEEP_GOING (default 20) before the campaign stops.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
target=$1
minutes=$2
shift 2
case $target in
    header) target='HeaderFuzzTest#decode' ;;
    open) target='OpenFuzzTest#open' ;;
    check) target='CheckFuzzTest#check' ;;
    repair) target='CheckFuzzTest#repair' ;;
    map) target='MapFuzzTest#map' ;;
    read) target='ReadFuzzTest#read' ;;
    inspect) target='InspectFuzzTest#inspect' ;;
    snapshot) target='SnapshotFuzzTest#snapshot' ;;
    rebase) target='ChainFuzzTest#rebase' ;;
    commit) target='ChainFuzzTest#commit' ;;
    args) target='CliArgsFuzzTest#args' ;;
    jsonname) target='ImageNameFuzzTest#parse' ;;
    imageopts) target='ImageNameFuzzTest#imageOpts' ;;
    luks) target='LuksFuzzTest#unlock' ;;
    secret) target='LuksFuzzTest#secretObject' ;;
    snapparam) target='SnapshotParamFuzzTest#measure' ;;
esac
args=(-Djazzer.internal.arg.0=fuzz
      "-Djazzer.internal.arg.1=-max_total_time=$((minutes * 60))"
      "-Djazzer.internal.arg.2=-rss_limit_mb=${FUZZ_RSS_MB:-1536}"
      "-Djazzer.internal.arg.3=-timeout=${FUZZ_TIMEOUT:-10}"
      -Djazzer.internal.arg.4=-print_final_stats=1)
i=5
for a in "$@"; do
    args+=("-Djazzer.internal.arg.$i=$a")
    i=$((i + 1))
done
export JAZZER_FUZZ=1
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
rc=0
mvn -B ${MVN_OFFLINE:--o} test -Dsurefire.failIfNoSpecifiedTests=false -Dtest="$target" \
    -DargLine="-Xmx${FUZZ_HEAP:-256m}" -Djazzer.instrument='dev.q2.**' \
    -Djazzer.keep_going="${FUZZ_KEEP_GOING:-20}" "${args[@]}" || rc=$?
echo "== new findings (regression inputs now):"
find src/test/resources/dev/q2/fuzz -newer "$stamp" -type f \( -name 'crash-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'slow-unit-*' \) -print
exit $rc
