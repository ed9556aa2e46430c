# The common prologue of the bench scripts, sourced by them (POSIX sh):
#   . "$(dirname "$0")/lib.sh"
#   need qemu-img hyperfine     # exits 2 naming the first tool that is not on PATH
#   build                       # builds target/q2.jar and the start-up archive if needed
#   start_hogs                  # right before the timed part: HOGS=N in the environment runs N CPU-bound
#                               # processes beside it (issue 16, "on a busy machine"), stopped when the script exits
# It sets ROOT (the repository), Q2 (its launcher) and TMP (a scratch folder removed when the script exits).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
Q2=$ROOT/q2
BENCH=$(basename "$0" .sh)

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$BENCH: $tool not found" >&2; exit 2; }
    done
}

build() {
    "$Q2" --version >/dev/null
}

HOG_PIDS=
start_hogs() {
    n=${HOGS:-0}
    i=0
    while [ "$i" -lt "$n" ]; do
        (while :; do :; done) &
        HOG_PIDS="$HOG_PIDS $!"
        i=$((i + 1))
    done
    if [ "$n" -gt 0 ]; then
        echo "$BENCH: $n CPU-bound processes run beside the timed part (HOGS=$n)"
    fi
}

TMP=$(mktemp -d)
trap 'for p in $HOG_PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
