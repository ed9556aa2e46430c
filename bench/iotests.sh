#!/usr/bin/env bash
# QEMU's own iotests (tests/qemu-iotests) as q2's acceptance suite (issue 17).
#
# Fetches the iotests matching the installed qemu-img from Debian's source package of qemu (a private apt
# configuration with deb-src lines for this machine's Debian sources; the machine's own apt state is not touched),
# unpacks tests/qemu-iotests and python/ into a cache, and runs a list of qcow2 tests with `./check -qcow2` in four
# modes:
#   ref   real qemu-img and qemu-io
#   img   q2 as qemu-img (a stand-in script that runs the worktree's q2 jar and rewrites the "q2: " prefix of error
#         lines to "qemu-img: ", as the iotests' filters expect), real qemu-io
#   io    real qemu-img, `q2 io` as qemu-io
#   both  q2 for both
# It prints the pass count of each mode run and writes one line per test and mode (the last run of every mode) to
# $OUT (default target/iotests/results.txt); the diffs of failing tests stay in target/iotests/run-MODE/.
#
# Usage: bench/iotests.sh [-m MODES] [-t SECONDS] [-u] [-s] [TEST...]
#   -m MODES    comma-separated subset of ref,img,io,both (default: all four)
#   -t SECONDS  per-test timeout (default 300; the slowest tests take 100 s with the real tools here)
#   -u          update: run only TEST... and replace their results in the last run of each mode (to re-run the
#               tests that timed out, or those a change concerns)
#   -s          short cut for "both": run it only on the tests that passed in "img" or "io" (run before it in the
#               same call); the others are recorded as "fail-img-and-io" (a test that fails with q2 in each role
#               has so far always failed with q2 in both). Saves a third of a full run.
#   TEST...     test names (default: the list below: the qcow2 tests that need neither a VM nor
#               qemu-storage-daemon)
# One run at a time: runs share target/iotests/bin and the q2 copy in target/iotests/q2. Interrupting a run leaves
# its running tests to end at their timeout (each runs in its own process group under `timeout`).
# Environment: Q2_IOTESTS_CACHE (default ~/.cache/q2-iotests) holds the unpacked tests; OUT the results file.
# Needs: apt-get, dpkg-source (dpkg-dev), python3, network access to Debian's mirrors on the first run.
set -euo pipefail
{ # (the whole script is read before it runs, so that editing it does not disturb a run)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${Q2_IOTESTS_CACHE:-$HOME/.cache/q2-iotests}"
work="$here/target/iotests"
out="${OUT:-$work/results.txt}"
modes="ref,img,io,both"
timeout_s=300
update=0
shortcut=0
while getopts "m:t:ush" opt; do
  case "$opt" in
    m) modes="$OPTARG" ;;
    t) timeout_s="$OPTARG" ;;
    u) update=1 ;;
    s) shortcut=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# ---- 1. the iotests of the installed qemu-img, from Debian's source package -------------------------------------
srcver="$(dpkg-query -W -f='${source:Version}' qemu-utils)"   # e.g. 1:7.2+dfsg-7+deb12u18
tree="$cache/qemu-${srcver#*:}"   # (no epoch: a colon would split the PYTHONPATH that check builds)
if [ ! -x "$tree/tests/qemu-iotests/check" ]; then
  echo "iotests: fetching the sources of qemu $srcver (once; cached in $tree)" >&2
  apt="$cache/apt"
  rm -rf "$apt" && mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs"
  # deb-src lines for each Debian source this machine uses (one-line and deb822 styles)
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && grep -E '^deb\s' "$f" | grep -E 'debian' | sed -E 's/^deb(\s)/deb-src\1/' || true
    done
  } > "$apt/sources.list"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -qi 'debian' "$f" || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$apt/parts/$(basename "$f")"
  done
  aptopts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts="$apt/parts"
           -o Dir::Etc::PreferencesParts="$apt/prefs" -o Dir::State::Lists="$apt/lists"
           -o Dir::Cache="$apt/cache" -o Dir::State::status=/var/lib/dpkg/status
           -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get -q "${aptopts[@]}" update >&2
  dl="$cache/download"
  rm -rf "$dl" && mkdir -p "$dl"
  # the exact version of the installed qemu-utils if the mirror still has it, else the mirror's
  (cd "$dl" && { apt-get -q "${aptopts[@]}" source --download-only "qemu=${srcver}" >&2 ||
                 { echo "iotests: qemu $srcver not on the mirror; using its newest bookworm version" >&2;
                   apt-get -q "${aptopts[@]}" source --download-only qemu >&2; }; })
  rm -rf "$dl/x"
  (cd "$dl" && dpkg-source --no-check -x ./*.dsc x >&2)
  rm -rf "$tree.tmp" && mkdir -p "$tree.tmp/tests"
  mv "$dl/x/tests/qemu-iotests" "$tree.tmp/tests/"
  mv "$dl/x/python" "$tree.tmp/"
  [ -f "$dl/x/VERSION" ] && cp "$dl/x/VERSION" "$tree.tmp/"
  rm -rf "$dl" "$tree" && mv "$tree.tmp" "$tree"
fi
echo "iotests: tests in $tree" >&2

# ---- 2. the tests ---------------------------------------------------------------------------------------------
# The qcow2 tests (bash and python) that never start qemu-system or qemu-storage-daemon (no _launch_qemu, run_qemu,
# $QEMU, VM(), QSD in the test) and pass with the real qemu-img and qemu-io here. Left out: 178 (needs accurate CPU
# usage), 220 (needs files larger than this file system takes), 231 (not for the file protocol), 293 (LUKS key
# slots with the default iteration time: over 2 minutes), 297 (pylint/mypy of QEMU's python code).
default_tests="001 002 003 004 005 008 009 010 011 012 013 014 015 017 018 019 020 021 022 023 024 025 026 027 029 031 032 033 034 035 036 037 038 039 042 043 044 046 047 048 049 050 052 053 054 058 061 062 063 066 069 072 073 074 079 080 089 090 097 098 103 104 105 107 110 111 112 114 115 121 122 125 126 133 134 137 138 150 154 158 159 162 163 170 177 179 187 188 189 190 197 198 204 209 214 215 217 226 243 250 251 252 261 263 265 268 270 271 272 277 279 284 287 289 290 292 303 305 313 nbd-qemu-allocation nbd-reconnect-on-open qemu-img-bitmaps"
if [ $# -gt 0 ]; then tests="$*"; else tests="$default_tests"; fi

# ---- 3. stand-ins ---------------------------------------------------------------------------------------------
mkdir -p "$work"
bin="$work/bin"
rm -rf "$bin" && mkdir -p "$bin/q2" "$bin/none"
# qemu-system and qemu-storage-daemon: check insists that they exist; the tests listed never start them.
cat > "$bin/none/qemu-system" <<'SH'
#!/bin/sh
# check asks the default machine with '-machine help'; the python tests ask for the formats ('-drive format=help',
# answered with qemu-img's list) and devices ('-device help') before they start; anything else: no VM here
case " $* " in
  *" -machine help "*) exit 0 ;;
  *" -device help "*) echo 'name "virtio-blk-pci", bus PCI'; echo 'name "virtio-scsi-pci", bus PCI'; exit 0 ;;
  *" format=help "*)
    f="$(qemu-img --help | sed -n 's/^Supported formats: *//p')"
    printf 'Supported formats: %s\nSupported formats (read-only): %s\n' "$f" "$f"; exit 0 ;;
esac
echo "qemu-system is not available in this run" >&2; exit 1
SH
chmod +x "$bin/none/qemu-system"
# q2 in place of qemu-img and qemu-io. Error lines of q2 start "q2: "; the iotests' filters expect the tool's name.
# When stdout and stderr are the same file (2>&1, as most tests run them), both go through one sed so that their
# order is kept; otherwise only stderr is rewritten. An exit status above 128 is passed on as the signal it stands
# for.
standin() {  # name, q2 arguments before the caller's
  cat > "$bin/q2/$1" <<SH
#!/usr/bin/env bash
q2='$work/q2/q2'
if [[ /dev/fd/1 -ef /dev/fd/2 ]]; then
  "\$q2" $2 "\$@" 2>&1 | sed -u 's/^q2: /$1: /'
  rc=\${PIPESTATUS[0]}
else
  { "\$q2" $2 "\$@" 2>&1 1>&3 3>&- | sed -u 's/^q2: /$1: /' >&2; rc=\${PIPESTATUS[0]}; } 3>&1
fi
# q2 ended by a signal (q2 io's sigraise halts with 128 + the signal): end the same way, so that the shell that
# runs the stand-in reports it as it reports qemu-io's death ("Killed")
if (( rc > 128 && rc < 128 + 65 )); then trap - \$((rc - 128)) 2>/dev/null; kill -s \$((rc - 128)) \$\$; fi
exit \$rc
SH
  chmod +x "$bin/q2/$1"
}
standin qemu-img ""
standin qemu-io "io"
if [[ ",$modes," =~ ,(img|io|both), ]]; then
  echo "iotests: building q2" >&2
  "$here/q2" --version >/dev/null   # builds target/q2.jar if needed
  # The stand-ins run a copy of the jar and the launcher, so that editing the sources during a run does not make
  # the launcher rebuild under the tests.
  rm -rf "$work/q2" && mkdir -p "$work/q2/target/classes/dev/q2/io" "$work/q2/src/main/dist/lib"
  # the launcher script it sources first, keeping its time (older than the jar: the copy must not look stale)
  cp -p "$here/src/main/dist/lib/launch.sh" "$work/q2/src/main/dist/lib/launch.sh"
  cp "$here/q2" "$work/q2/q2" && cp "$here/target/q2.jar" "$work/q2/target/q2.jar"
  cp "$here"/target/logback-*.jar "$work/q2/target/" 2>/dev/null || true  # named by q2.jar's Class-Path (-v, --debug)
  cp -r "$here/target/classes/dev/q2/io/native" "$work/q2/target/classes/dev/q2/io/" 2>/dev/null || true
  "$work/q2/q2" --version >/dev/null   # records its start-up archive once
fi

# ---- 4. run -----------------------------------------------------------------------------------------------------
iot="$tree/tests/qemu-iotests"
run_mode() {  # mode
  local mode="$1" img=/usr/bin/qemu-img io=/usr/bin/qemu-io
  case "$mode" in
    img) img="$bin/q2/qemu-img" ;;
    io) io="$bin/q2/qemu-io" ;;
    both) img="$bin/q2/qemu-img"; io="$bin/q2/qemu-io" ;;
    ref) ;;
    *) echo "iotests: unknown mode $mode" >&2; exit 2 ;;
  esac
  local dir="$work/run-$mode" t
  if [ "$update" = 1 ] && [ -f "$dir/status" ]; then
    for t in $tests; do rm -rf "${dir:?}/$t" "$dir/$t.diff" "$dir/$t.out.bad"; done
  else
    rm -rf "$dir" && mkdir -p "$dir"; : > "$dir/status"
  fi
  export QEMU_IMG_PROG="$img" QEMU_IO_PROG="$io" QEMU_NBD_PROG="$(command -v qemu-nbd || echo "$bin/none/qemu-system")"
  export QEMU_PROG="$bin/none/qemu-system" QSD_PROG="$bin/none/qemu-system"
  export DIR="$dir" IOT="$iot" TMO="$timeout_s"
  local run="$tests"
  if [ "$mode" = both ] && [ "$shortcut" = 1 ]; then
    run="$(cat "$work/run-img/status" "$work/run-io/status" | awk '$2 == "pass" { print $1 }' | sort -u |
      grep -xF -f <(printf '%s\n' $tests) || true)"
    printf '%s\n' $tests | grep -vxF -f <(printf '%s\n' $run) | sed 's/$/ fail-img-and-io/' > "$dir/status.skip"
  fi
  # two tests at a time, each in its own check with its own scratch folder, under a timeout
  printf '%s\n' $run | xargs -P 2 -I{} bash -c '
    t="{}"; n="${t##*/}"
    mkdir -p "$DIR/$n/scratch" "$DIR/$n/sock"
    cd "$IOT" && TEST_DIR="$DIR/$n/scratch" SOCK_DIR="$DIR/$n/sock" \
      timeout -k 5 "$TMO" python3 ./check -qcow2 "$t" > "$DIR/$n/log" 2>&1
    rc=$?
    # daemons a failing test left behind (qemu-nbd --fork): those that name the folders of this test
    for p in $(pgrep -f "$DIR/$n/" || true); do kill "$p" 2>/dev/null || true; done
    st=$(tr "\r" "\n" < "$DIR/$n/log" | grep -oE "^$n +(pass|fail|not run)" | tail -1 | sed -E "s/^$n +//; s/ /-/")
    [ $rc = 124 ] || [ $rc = 137 ] && st=timeout
    [ -n "$st" ] || st="error"
    ref="$IOT/$n.out"
    for r in "$IOT/$n.out.qcow2" "$IOT/tests/$n.out.qcow2" "$IOT/tests/$n.out"; do [ -f "$r" ] && ref="$r"; done
    [ -f "$DIR/$n/scratch/$n.out.bad" ] && cp "$DIR/$n/scratch/$n.out.bad" "$DIR/$n.out.bad" &&
      { diff -u -Z "$ref" "$DIR/$n.out.bad" > "$DIR/$n.diff" || true; }  # -Z: check ignores trailing white space (and a CR)
    [ "$st" = pass ] && rm -rf "$DIR/$n"
    echo "$n $st"
  ' > "$dir/status.new"
  if [ -f "$dir/status.skip" ]; then cat "$dir/status.skip" >> "$dir/status.new"; rm -f "$dir/status.skip"; fi
  # the earlier results of the tests not run now (all of them are replaced unless -u)
  awk 'NR == FNR { ran[$1] = 1; next } !($1 in ran)' "$dir/status.new" "$dir/status" |
    cat - "$dir/status.new" | sort > "$dir/status.tmp"
  mv "$dir/status.tmp" "$dir/status" && rm -f "$dir/status.new"
}

: > "$out.tmp"
summary=""
for mode in ${modes//,/ }; do
  echo "iotests: mode $mode" >&2
  run_mode "$mode"
  total=$(wc -l < "$work/run-$mode/status")
  pass=$(grep -c ' pass$' "$work/run-$mode/status" || true)
  summary+="$mode: $pass of $total pass"$'\n'
  echo "iotests: $mode: $pass of $total pass" >&2
done
# the results file holds the last run of every mode, so that -u and -m runs update it
for mode in ref img io both; do
  [ -f "$work/run-$mode/status" ] && sed "s/^/$mode /" "$work/run-$mode/status" >> "$out.tmp"
done
mv "$out.tmp" "$out"
printf '%s' "$summary"
echo "per-test results: $out (diffs of failures in $work/run-MODE/)"
exit 0
}
