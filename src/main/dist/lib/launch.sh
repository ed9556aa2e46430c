# q2's launcher, sourced by ./q2 in a checkout and by bin/q2 of an installed q2, which set:
#   jar          the q2 jar to run
#   startup_dir  where the AppCDS archive / AOT cache is kept (made on the first run; skipped if not writable)
#   native_dir   the folder holding linux-ARCH/libq2seek.so
#
# Start-up (docs/performance.md): the JVM is the first of Q2_JAVA, $JAVA_HOME/bin/java, a JDK 25+ under
# /usr/lib/jvm, or `java` on PATH. On its first run with a given jar and JVM the launcher records the classes that
# q2's commands load (dev.q2.cli.Warmup) in a JDK 25 AOT cache or, on older JDKs, an AppCDS archive in
# $startup_dir, and later runs map it. If recording fails, q2 runs without it. Q2_CDS=0 turns this off.
java="${Q2_JAVA:-}"
if [ -z "$java" ] && [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
  java="$JAVA_HOME/bin/java"
fi
if [ -z "$java" ]; then
  for j in /usr/lib/jvm/*-2[5-9]*/bin/java /usr/lib/jvm/*-[3-9][0-9]*/bin/java; do
    if [ -x "$j" ]; then java="$j"; fi
  done
fi
java="${java:-java}"
if [ "${1:-}" = "--print-java" ]; then  # for bench/startup.sh
  echo "$java"
  exit 0
fi

# The serial collector and no perf data: a CLI starts faster and needs no more. C1 only, except for bench, and
# check and map of big images, whose loops over metadata gain from C2 (docs/performance.md): for the short
# commands C2 never pays off, and for convert, compare and io, which spend their time in read and write calls,
# C2's compiler threads take more of the machine's two cores than they give back.
opts=(-XX:+UseSerialGC -XX:-UsePerfData)
# check and map, and the commands that walk or compare a whole image (rebase, commit), get C2 only for an image file
# of 256 MiB or more (one stat for all the arguments; those that are not files are ignored): on small images C2's
# compiler thread costs a short run more than it gives back; on a 4 GiB chain C1 alone made safe rebase 3.8x slower
# (4.5 s against 1.2 s, docs/performance.md). snapshot, resize and amend stay on C1: their walks over a 64 GiB
# image's metadata are short loops that C1 compiles at once, and C2 cost them 1.2-1.7x the CPU time (session 5).
c2=0
case "${1:-}" in
  bench) c2=1 ;;
  check|map|rebase|commit)
    if [ $# -gt 1 ]; then
      while read -r bytes; do
        if [ "${bytes:-0}" -ge 268435456 ] 2>/dev/null; then c2=1; fi
      done < <(stat -L -c %s -- "${@:2}" 2>/dev/null || true)
    fi ;;
esac
if [ "$c2" = 0 ]; then opts+=(-XX:TieredStopAtLevel=1); fi
# Safe rebase compares whole images in Java loops; with JDK 25's AOT cache those ran 3.6x slower (3.1 s against
# 0.87 s on a 4 GiB chain, measured in session 4), so it starts without the archive (about 50 ms more).
no_archive=0
if [ "${1:-}" = rebase ]; then no_archive=1; fi
# The JNI helper as a plain file, so q2 need not extract it from the jar (dev.q2.io.NativeFiles).
opts+=(-Dq2.nativeDir="$native_dir")
if [ "${Q2_CDS:-1}" != 0 ] && [ "$no_archive" = 0 ] && [ -n "${startup_dir:-}" ]; then
  # The JDK's home: the java binary's grandparent, after following links (only a java found on PATH needs
  # readlink; the others are real paths already). Parameter expansion instead of dirname saves two forks.
  jbin="$java"
  case "$jbin" in
    /usr/lib/jvm/*/bin/java) ;;
    *) jbin="$(readlink -f "$(command -v "$jbin")")" ;;
  esac
  jhome="${jbin%/bin/java}"
  feature=0
  if [ -f "$jhome/release" ]; then
    while IFS='=' read -r k v; do
      if [ "$k" = JAVA_VERSION ]; then v="${v//\"/}"; feature="${v%%.*}"; fi
    done < "$jhome/release"
  fi
  key="${jhome//\//_}"
  if [ "$feature" -ge 25 ]; then
    archive="$startup_dir/q2$key.aot"; use=(-XX:AOTCache="$archive"); make=(-XX:AOTCacheOutput)
  elif [ "$feature" -ge 17 ]; then
    archive="$startup_dir/q2$key.jsa"; use=(-XX:SharedArchiveFile="$archive"); make=(-XX:ArchiveClassesAtExit)
  fi
  if [ -n "${archive:-}" ]; then
    # The archive is only valid for this jar and this JVM: make it again when either is newer.
    if [ ! -f "$archive" ] || [ "$jar" -nt "$archive" ] || [ "$jhome/release" -nt "$archive" ]; then
      mkdir -p "$startup_dir" 2>/dev/null || true
      tmp="$archive.$$"
      if [ -w "$startup_dir" ] && "$java" "${opts[@]}" "${make[0]}=$tmp" -Xlog:disable -Xlog:all=off -cp "$jar" dev.q2.cli.Warmup \
          >/dev/null 2>&1 && [ -s "$tmp" ]; then
        mv -f "$tmp" "$archive"
      else
        rm -f "$tmp" "$tmp.config"
      fi
    fi
    if [ -f "$archive" ]; then
      # An archive the JVM cannot use (-Xshare:auto, and AOTMode=auto, the defaults) is ignored quietly, and the
      # command runs without it.
      opts+=("${use[@]}" -Xlog:cds=off -Xlog:cds+dynamic=off)
      if [ "$feature" -ge 25 ]; then opts+=(-Xlog:aot=off); fi
    fi
  fi
fi
exec "$java" ${Q2_JAVA_OPTS:-} "${opts[@]}" -jar "$jar" "$@"
