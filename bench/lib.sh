# The common prologue of the bench scripts, sourced by them (POSIX sh):
#   . "$(dirname "$0")/lib.sh"
#   need qemu-img hyperfine     # exits 2 naming the first tool that is not on PATH
#   build                       # builds target/q2.jar and the start-up archive if needed
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

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
