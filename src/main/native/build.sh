#!/bin/sh
# Rebuilds the JNI helper of q2 (map, locks, convert -n into raw) for this platform and puts it where NativeFiles
# looks for it (or in the folder given as first argument). Needs a C compiler and a JDK (JAVA_HOME or the javac on
# PATH). The result is committed, so that a build of q2 needs no C compiler; without it (other platforms), q2 map
# falls back to what QEMU does when lseek cannot tell holes apart: everything in a file counts as data.
# The build is reproducible: NativeHelperTest rebuilds it and checks that the committed library is what this
# source gives with the compiler named in libq2seek.so.cc.
set -eu
cd "$(dirname "$0")"
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
arch=$(uname -m); case $arch in x86_64) arch=amd64;; esac
out=${1:-../resources/dev/q2/io/native}/linux-$arch
mkdir -p "$out"
${CC:-cc} -O2 -shared -fPIC -Wall -Wextra -Wno-unused-parameter -s \
    -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" -o "$out/libq2seek.so" q2seek.c -lz -ldl -lpthread
${CC:-cc} --version | head -1 > "$out/libq2seek.so.cc"
ls -l "$out/libq2seek.so"
