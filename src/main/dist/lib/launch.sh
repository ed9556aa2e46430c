# q2's launcher, sourced by ./q2 in a checkout and by bin/q2 of an installed q2, which set:
#   jar          the q2 jar to run
#   startup_dir  where the AppCDS archive / AOT cache is kept (made on the first run; skipped if not writable)
#   native_dir   the folder holding linux-ARCH/libq2seek.so
#
# Start-up (docs/performance.md): the JVM is the first of Q2_JAVA, $JAVA_HOME/bin/java, a JDK 25+ under
# /usr/lib/jvm, or `java` on PATH. On its first run with a given jar and JVM the launcher records the classes that
# q2's commands load (dev.q2.cli.Warmup) in a JDK 25 AOT cache or, on older JDKs, an AppCDS archive in
# $startup_dir, and later runs map it (on JDK 25, info, check, map, compare, convert and create each have a cache of
# their own, made on their first run). If recording fails, q2 runs without it. Q2_CDS=0 turns this off.
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

# The JDK's home and its feature version (17, 25, ...), on which the collector, the archive and some flags depend.
# The home is the java binary's grandparent, after following links (only a java found on PATH needs readlink; the
# others are real paths already). Parameter expansion instead of dirname saves two forks.
jbin="$java"
case "$jbin" in
  /usr/lib/jvm/*/bin/java) jhome="${jbin%/bin/java}" ;;
  *)
    # A java found on PATH or through links (/usr/bin/java): its home is where the links end, which readlink
    # tells at the price of two forks (~2 ms). The answer is kept in $startup_dir and checked without a fork
    # (the kept home's bin/java must be this very file), so only the first run, or one after the links
    # changed, pays them.
    jpath=""
    case "$jbin" in
      */*) jpath="$jbin" ;;
      *) if hash "$jbin" 2>/dev/null; then jpath="${BASH_CMDS[$jbin]:-}"; fi ;;
    esac
    known="${startup_dir:-}/java-home${jpath//\//_}"
    jhome=""
    if [ -z "${startup_dir:-}" ] || [ -z "$jpath" ] || [ ! -f "$known" ] || ! read -r jhome < "$known" \
        || [[ ! "$jhome/bin/java" -ef "$jpath" ]]; then
      jbin="$(readlink -f "$(command -v "$jbin")")" || true  # no java: the exec at the end says so
      jhome="${jbin%/bin/java}"
      if [ -n "$jpath" ] && [ -n "${startup_dir:-}" ] && mkdir -p "$startup_dir" 2>/dev/null; then
        echo "$jhome" > "$known" 2>/dev/null || true
      fi
    fi ;;
esac
feature=0
if [ -f "$jhome/release" ]; then
  while IFS='=' read -r k v; do
    if [ "$k" = JAVA_VERSION ]; then v="${v//\"/}"; feature="${v%%.*}"; fi
  done < "$jhome/release"
fi
case "$feature" in ''|*[!0-9]*) feature=0 ;; esac

# No perf data: a CLI starts faster and needs no more. C1 only, except for bench, and
# check and map of big images, whose loops over metadata gain from C2 (docs/performance.md): for the short
# commands C2 never pays off, and for convert, compare and io, which spend their time in read and write calls,
# C2's compiler threads take more of the machine's two cores than they give back.
opts=(-XX:-UsePerfData)
# check and map, and the commands that walk or compare a whole image (rebase, commit), get C2 only for an image file
# of 256 MiB or more (one stat for all the arguments; those that are not files are ignored): on small images C2's
# compiler thread costs a short run more than it gives back; on a 4 GiB chain C1 alone made safe rebase 3.8x slower
# (4.5 s against 1.2 s, docs/performance.md). snapshot, resize and amend stay on C1: their walks over a 64 GiB
# image's metadata are short loops that C1 compiles at once, and C2 cost them 1.2-1.7x the CPU time (session 5).
c2=0
big=0
case "${1:-}" in
  check|map|rebase|commit|snapshot|resize|amend|convert|compare|dd|io)
    if [ $# -gt 1 ]; then
      files=("${@:2}")
      while read -r bytes; do
        if [ "${bytes:-0}" -ge 268435456 ] 2>/dev/null; then big=1; fi
      done < <(exec stat -L -c %s -- "${files[@]#if=}" 2>/dev/null)  # exec: one fork, not two
    fi ;;
esac
case "${1:-}" in
  bench) c2=1 ;;
  check|map|rebase|commit) c2="$big" ;;
esac
# A LUKS key (unlock or create) means seconds of PBKDF2, whose SHA compressions only C2 turns into SHA-NI/AVX2
# code: ten times C1's speed (docs/performance.md, "Session 7: PBKDF2").
keys=0
for a in "${@:2}"; do
  case "$a" in *key-secret*) c2=1; keys=1 ;; esac
done
# With C1 only and no big file named, a method is compiled after ten times the usual number of calls and loop
# iterations (CompileThresholdScaling=10: 2,000 calls instead of 200): a short command then interprets the code it
# runs a few times instead of compiling ~160 methods on the second core (a quarter of `q2 info`'s CPU time). A long
# run (a big file: convert, compare, dd, io) keeps the usual thresholds, so that its loops are compiled at once
# (docs/performance.md, "Session 5").
if [ "$c2" = 0 ]; then
  opts+=(-XX:TieredStopAtLevel=1)
  if [ "$big" = 0 ]; then opts+=(-XX:CompileThresholdScaling=10); fi
fi
# The collector. JDK 17 maps the heap objects of its default CDS archive (interned strings, the module graph) only
# with G1: with the serial collector it drops them and builds the module graph at every start, which cost a hello
# world 39 -> 55 ms of CPU (session 6). So on JDK 17-24 a short run (C1, no big file) keeps G1, the JVM's default
# there, and its archive is made with G1 (below); JDK 25 maps them with any collector (serial and G1 measured the
# same there). Long runs keep the serial collector, as measured in sessions 2-5.
if [ "$c2" = 1 ] || [ "$big" = 1 ] || [ "$feature" -lt 17 ] || [ "$feature" -ge 25 ]; then
  opts=(-XX:+UseSerialGC "${opts[@]}")
fi
# Safe rebase compares whole images in Java loops; with JDK 25's AOT cache those ran 3.6x slower (3.1 s against
# 0.87 s on a 4 GiB chain, measured in session 4), so it starts without the archive (about 50 ms more).
no_archive=0
if [ "${1:-}" = rebase ]; then no_archive=1; fi
# The JNI helper as a plain file, so q2 need not extract it from the jar (dev.q2.io.NativeFiles).
opts+=(-Dq2.nativeDir="$native_dir")
# The jar is run with -cp and the main class, not -jar: -jar makes the JVM open the jar and read its central
# directory (811 entries, parsed in interpreted Java) for the manifest before main, while with -cp and every class
# in the archive the jar is never opened: 12 M instructions of `q2 info` on JDK 17, 28 M on JDK 25, whose hello
# world takes 51 and 63 M (docs/performance.md, "Session 7"). The manifest's Class-Path (logback, for -v) holds
# either way; its Enable-Native-Access (JDK 22+ warns when a library is loaded without it) is given here instead,
# and to the training run, since JDK 25 refuses an AOT cache made without it.
native_access=()
if [ "$feature" -ge 22 ]; then native_access=(--enable-native-access=ALL-UNNAMED); fi
opts+=(${native_access[@]+"${native_access[@]}"})
# PBKDF2's fast HMAC calls the JDK's SHA compression directly (dev.q2.crypto.Hmac): with -cp the manifest's
# Add-Opens is not read, so a run that may unlock a key opens the package here (without it: ~1.4x the CPU time).
if [ "$keys" = 1 ]; then opts+=(--add-opens=java.base/sun.security.provider=ALL-UNNAMED); fi
if [ "${Q2_CDS:-1}" != 0 ] && [ "$no_archive" = 0 ] && [ -n "${startup_dir:-}" ]; then
  key="${jhome//\//_}"
  # JDK 25's AOT cache loads and links every class it holds at start-up, whether the command uses it or not: a
  # cache trained on every command cost `q2 info` ~13 M instructions more than one trained on info alone (1,794
  # classes loaded instead of 1,117; docs/performance.md, "Session 7"). So the six commands that CI scripts call
  # most have a cache of their own, trained on that command's warm-up, made on its first run; the others share
  # one trained on all. JDK 17-24's archive loads its classes on demand, so one archive serves every command.
  part=""
  if [ "$feature" -ge 25 ]; then
    case "${1:-}" in info|check|map|compare|convert|create) part="$1" ;; esac
    archive="$startup_dir/q2$key${part:+-$part}.aot"; use=(-XX:AOTCache="$archive"); make=(-XX:AOTCacheOutput)
  elif [ "$feature" -ge 17 ]; then
    archive="$startup_dir/q2$key.jsa"; use=(-XX:SharedArchiveFile="$archive"); make=(-XX:ArchiveClassesAtExit)
  fi
  if [ -n "${archive:-}" ]; then
    # The archive is only valid for this jar and this JVM: make it again when either is newer. The training run's
    # options are the same whichever command happens to make the archive (they were that command's until session
    # 6: a cache made by `q2 check` of a big image held C2 profiles, one made by `q2 info` none), so that every
    # making gives the same archive: C1 only, the collector of the short runs (G1 on JDK 17-24, whose module
    # graph is then archived too), and on JDK 25 no training data (method profiles and compile records from a
    # warm-up on a tiny image that a long C2 run would replay; short runs do not replay them anyway).
    train=(-XX:-UsePerfData -XX:TieredStopAtLevel=1 -Dq2.nativeDir="$native_dir" ${native_access[@]+"${native_access[@]}"})
    if [ "$feature" -ge 25 ]; then train=(-XX:+UseSerialGC "${train[@]}"); fi
    if [ "$feature" = 25 ]; then train+=(-XX:+UnlockDiagnosticVMOptions -XX:-AOTRecordTraining); fi  # diagnostic
    if [ ! -f "$archive" ] || [ "$jar" -nt "$archive" ] || [ "$jhome/release" -nt "$archive" ]; then
      mkdir -p "$startup_dir" 2>/dev/null || true
      tmp="$archive.$$"
      if [ -w "$startup_dir" ] && "$java" "${train[@]}" "${make[0]}=$tmp" -Xlog:disable -Xlog:all=off -cp "$jar" dev.q2.cli.Warmup $part \
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
      # Map the archive at the address it was made for instead of a random one (ArchiveRelocationMode=1, the
      # default of JDK 25 and of Debian's 17), which makes every start patch the pointers of its ~17 MB (it falls
      # back to relocating when that address is taken). With C1 only, JDK 25 need not replay the method profiles
      # of the cache's training run: they are for C2. Diagnostic flags, which a later JDK may drop or rename, so
      # only for the versions measured (docs/performance.md, "Session 5").
      if [ "$feature" -le 25 ]; then opts+=(-XX:+UnlockDiagnosticVMOptions -XX:ArchiveRelocationMode=0); fi
      if [ "$feature" = 25 ] && [ "$c2" = 0 ]; then opts+=(-XX:-AOTReplayTraining); fi
    fi
  fi
fi
# Q2_JAVA_OPTS last, so that the user's settings win over the launcher's
exec "$java" "${opts[@]}" ${Q2_JAVA_OPTS:-} -cp "$jar" dev.q2.cli.Main "$@"
