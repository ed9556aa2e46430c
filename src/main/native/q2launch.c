/*
 * The fast path of ./q2 in a checkout (docs/performance.md, "Session 6"): ./q2 execs this program, built by
 * `mvn package` into target/q2-launch when a C compiler is there, as `q2-launch CHECKOUT ARGS...`. It makes the
 * decisions of ./q2 and src/main/dist/lib/launch.sh without a shell's loops and forks (the staleness walk over
 * src/main, the stat of the arguments) and execs the JVM with the same command line the script would build.
 *
 * It only takes the common path. Whenever the script could decide anything else (a stale jar to rebuild, a
 * start-up archive to make, a java whose home it has not recorded yet, options that need a shell's expansion,
 * --print-java, an error), it runs the script instead: `bash CHECKOUT/q2 ARGS...` with Q2_LAUNCHER=bash, which
 * makes ./q2 skip this program. So it can never do something the script would not; at worst it hands over.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_OPTS 64

static char **user_args;
static int user_argc;
static const char *checkout;

/* Runs the script: every case this program does not take. */
static void fallback(void) {
    char **argv = calloc((size_t) user_argc + 3, sizeof(char *));
    char *script = NULL;
    if (argv == NULL || asprintf(&script, "%s/q2", checkout) < 0) {
        perror("q2");
        exit(1);
    }
    argv[0] = "bash";
    argv[1] = script;
    for (int i = 0; i < user_argc; i++) {
        argv[i + 2] = user_args[i];
    }
    argv[user_argc + 2] = NULL;
    setenv("Q2_LAUNCHER", "bash", 1);
    execvp("bash", argv);
    perror("q2: bash");
    exit(1);
}

static char *cat(const char *a, const char *b) {
    char *s = NULL;
    if (asprintf(&s, "%s%s", a, b) < 0) {
        fallback();
    }
    return s;
}

/* bash's [[ A -nt B ]]: A's modification time is later than B's, or A exists and B does not. */
static int newer(const struct stat *a, const struct stat *b) {
    if (a->st_mtim.tv_sec != b->st_mtim.tv_sec) {
        return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
    }
    return a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

static struct stat jar_stat;
static int stale;

static int visit(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void) ftw;
    struct stat st;
    /* the script's glob tests each name with -nt, which follows links */
    if (flag == FTW_SL) {
        if (stat(path, &st) != 0) {
            return 0;
        }
        sb = &st;
    }
    if (flag == FTW_DNR || flag == FTW_NS || newer(sb, &jar_stat)) {
        stale = 1; /* the script decides (and rebuilds when it sees the same) */
        return 1;
    }
    return 0;
}

/* bash's [ -x PATH ] */
static int executable(const char *path) {
    return access(path, X_OK) == 0;
}

/* what bash's PATH search takes: an executable file, not a folder */
static int command_file(const char *path) {
    struct stat st;
    return access(path, X_OK) == 0 && stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* The feature version from a JDK's release file: JAVA_VERSION="17.0.15" gives 17; 0 when unknown. */
static int feature_of(const char *jhome) {
    char *release = cat(jhome, "/release");
    FILE *f = fopen(release, "r");
    int feature = 0;
    if (f == NULL) {
        return 0;
    }
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strchr(line, '\n') == NULL) {
            if (strlen(line) == sizeof line - 1) {
                fallback(); /* a line longer than this buffer */
            }
            break; /* bash's read skips a last line without a newline */
        }
        if (strncmp(line, "JAVA_VERSION=", 13) != 0) {
            continue;
        }
        char v[4096];
        size_t n = 0;
        for (const char *p = line + 13; *p != '\0' && *p != '\n'; p++) {
            if (*p != '"') {
                v[n++] = *p;
            }
        }
        v[n] = '\0';
        char *dot = strchr(v, '.');
        if (dot != NULL) {
            *dot = '\0';
        }
        feature = 0;
        if (strlen(v) > 6) {
            fallback();
        }
        if (v[0] == '\0') {
            continue;
        }
        int digits = 1;
        for (const char *p = v; *p; p++) {
            if (*p < '0' || *p > '9') {
                digits = 0;
            }
        }
        feature = digits ? atoi(v) : 0;
    }
    fclose(f);
    return feature;
}

/* The first executable NAME on PATH, as bash's hash finds it; NULL if none. */
static char *on_path(const char *name) {
    const char *path = getenv("PATH");
    if (path == NULL) {
        return NULL;
    }
    char *copy = strdup(path);
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        if (dir[0] != '/') {
            return NULL; /* a relative or empty entry: the script's business */
        }
        char *candidate = NULL;
        if (asprintf(&candidate, "%s/%s", dir, name) < 0) {
            return NULL;
        }
        if (command_file(candidate)) {
            return candidate;
        }
        free(candidate);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: q2-launch CHECKOUT [ARGS...]\n");
        return 2;
    }
    checkout = argv[1];
    user_args = argv + 2;
    user_argc = argc - 2;
    const char *cmd = user_argc > 0 ? user_args[0] : "";

    /* ./q2: the jar is stale when any file or folder under src/main, or the pom, is newer */
    char *jar = cat(checkout, "/target/q2.jar");
    if (stat(jar, &jar_stat) != 0 || !S_ISREG(jar_stat.st_mode)) {
        fallback();
    }
    char *src = cat(checkout, "/src/main");
    if (nftw(src, visit, 32, FTW_PHYS) != 0 || stale) {
        fallback();
    }
    struct stat st;
    if (stat(cat(checkout, "/pom.xml"), &st) == 0 && newer(&st, &jar_stat)) {
        fallback();
    }
    char *startup_dir = cat(checkout, "/target/startup");
    char *native_dir = cat(checkout, "/target/classes/dev/q2/io/native");

    /* launch.sh: the JVM */
    const char *java = getenv("Q2_JAVA");
    if (java == NULL || java[0] == '\0') {
        java = NULL;
        const char *home = getenv("JAVA_HOME");
        if (home != NULL && home[0] != '\0') {
            char *j = cat(home, "/bin/java");
            if (executable(j)) {
                java = j;
            }
        }
    }
    if (java == NULL) {
        /* the last executable match wins; with several, their order is the user's locale's (bash sorts the
           matches with it), so the script decides */
        const char *patterns[] = {"/usr/lib/jvm/*-2[5-9]*/bin/java", "/usr/lib/jvm/*-[3-9][0-9]*/bin/java"};
        int found = 0;
        for (int p = 0; p < 2; p++) {
            glob_t g;
            if (glob(patterns[p], 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++) {
                    if (executable(g.gl_pathv[i])) {
                        java = strdup(g.gl_pathv[i]);
                        found++;
                    }
                }
                globfree(&g);
            }
        }
        if (found > 1) {
            fallback();
        }
    }
    if (java == NULL) {
        java = "java";
    }
    if (strcmp(cmd, "--print-java") == 0) {
        fallback();
    }

    /* the JDK's home: as the script finds it, from the path or from what it recorded for a java on PATH */
    char *jhome;
    if (fnmatch("/usr/lib/jvm/*/bin/java", java, 0) == 0) {
        jhome = strdup(java);
        jhome[strlen(jhome) - strlen("/bin/java")] = '\0';
    } else {
        char *jpath = strchr(java, '/') != NULL ? strdup(java) : on_path(java);
        if (jpath == NULL) {
            fallback();
        }
        char *known = strdup(startup_dir);
        known = cat(known, "/java-home");
        char *flat = strdup(jpath);
        for (char *p = flat; *p; p++) {
            if (*p == '/') {
                *p = '_';
            }
        }
        known = cat(known, flat);
        FILE *f = fopen(known, "r");
        char line[4096];
        if (f == NULL || fgets(line, sizeof line, f) == NULL) {
            fallback();
        }
        fclose(f);
        char *nl = strchr(line, '\n');
        if (nl == NULL) {
            fallback(); /* bash's read fails on a line without a newline: the script looks again */
        }
        *nl = '\0';
        if (line[0] == ' ' || line[0] == '\t' || (nl > line && (nl[-1] == ' ' || nl[-1] == '\t'))) {
            fallback(); /* read -r would trim these */
        }
        jhome = strdup(line);
        struct stat a, b;
        if (jhome[0] == '\0' || stat(cat(jhome, "/bin/java"), &a) != 0 || stat(jpath, &b) != 0
                || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
            fallback();
        }
    }
    int feature = feature_of(jhome);

    /* C2, CompileThresholdScaling and the collector, per command */
    int c2 = 0, big = 0;
    static const char *sized[] = {"check", "map", "rebase", "commit", "snapshot", "resize", "amend", "convert",
                                  "compare", "dd", "io", NULL};
    for (int i = 0; sized[i] != NULL; i++) {
        if (strcmp(cmd, sized[i]) == 0 && user_argc > 1) {
            for (int a = 1; a < user_argc; a++) {
                const char *name = user_args[a];
                if (strncmp(name, "if=", 3) == 0) {
                    name += 3;
                }
                if (stat(name, &st) == 0 && st.st_size >= 268435456) {
                    big = 1;
                }
            }
        }
    }
    if (strcmp(cmd, "bench") == 0) {
        c2 = 1;
    } else if (strcmp(cmd, "check") == 0 || strcmp(cmd, "map") == 0 || strcmp(cmd, "rebase") == 0
               || strcmp(cmd, "commit") == 0) {
        c2 = big;
    }
    /* a LUKS key (unlock or create) means seconds of PBKDF2, whose SHA compressions only C2 turns into
       SHA-NI/AVX2 code: ten times C1's speed (docs/performance.md, "Session 7: PBKDF2") */
    int keys = 0;
    for (int a = 1; a < user_argc; a++) {
        if (strstr(user_args[a], "key-secret") != NULL) {
            c2 = 1;
            keys = 1;
        }
    }
    const char *opts[MAX_OPTS];
    int n = 0;
    if (c2 == 1 || big == 1 || feature < 17 || feature >= 25) {
        opts[n++] = "-XX:+UseSerialGC";
    }
    opts[n++] = "-XX:-UsePerfData";
    if (c2 == 0) {
        opts[n++] = "-XX:TieredStopAtLevel=1";
        if (big == 0) {
            opts[n++] = "-XX:CompileThresholdScaling=10";
        }
    }
    int no_archive = strcmp(cmd, "rebase") == 0;
    opts[n++] = cat("-Dq2.nativeDir=", native_dir);
    if (feature >= 22) {
        opts[n++] = "--enable-native-access=ALL-UNNAMED"; /* launch.sh: -cp does not read the manifest's */
    }
    if (keys) {
        opts[n++] = "--add-opens=java.base/sun.security.provider=ALL-UNNAMED"; /* launch.sh: PBKDF2's fast HMAC */
    }
    const char *cds = getenv("Q2_CDS");
    if ((cds == NULL || strcmp(cds, "0") != 0) && !no_archive) {
        char *key = strdup(jhome);
        for (char *p = key; *p; p++) {
            if (*p == '/') {
                *p = '_';
            }
        }
        char *archive = NULL;
        const char *use = NULL;
        if (feature >= 25) {
            /* launch.sh: a cache of its own for the six common commands */
            static const char *own[] = {"info", "check", "map", "compare", "convert", "create", NULL};
            const char *part = "";
            for (int i = 0; own[i] != NULL; i++) {
                if (strcmp(cmd, own[i]) == 0) {
                    part = cat("-", cmd);
                }
            }
            archive = cat(cat(startup_dir, "/q2"), cat(cat(key, part), ".aot"));
            use = "-XX:AOTCache=";
        } else if (feature >= 17) {
            archive = cat(cat(startup_dir, "/q2"), cat(key, ".jsa"));
            use = "-XX:SharedArchiveFile=";
        }
        if (archive != NULL) {
            struct stat as, rs;
            /* missing or older than the jar or the JDK: the script makes it */
            if (stat(archive, &as) != 0 || !S_ISREG(as.st_mode) || newer(&jar_stat, &as)
                    || (stat(cat(jhome, "/release"), &rs) == 0 && newer(&rs, &as))) {
                fallback();
            }
            opts[n++] = cat(use, archive);
            opts[n++] = "-Xlog:cds=off";
            opts[n++] = "-Xlog:cds+dynamic=off";
            if (feature >= 25) {
                opts[n++] = "-Xlog:aot=off";
            }
            if (feature <= 25) {
                opts[n++] = "-XX:+UnlockDiagnosticVMOptions";
                opts[n++] = "-XX:ArchiveRelocationMode=0";
            }
            if (feature == 25 && c2 == 0) {
                opts[n++] = "-XX:-AOTReplayTraining";
            }
        }
    }

    /* Q2_JAVA_OPTS, split into words as the script's unquoted expansion splits it; anything a shell would expand
       further (a pattern), or a changed IFS, is the script's to do */
    const char *user_opts = getenv("Q2_JAVA_OPTS");
    if (getenv("IFS") != NULL) {
        fallback();
    }
    char **words = NULL;
    int nwords = 0;
    if (user_opts != NULL) {
        if (strpbrk(user_opts, "*?[") != NULL) {
            fallback();
        }
        char *copy = strdup(user_opts);
        words = calloc(strlen(copy) / 2 + 2, sizeof(char *));
        for (char *save = NULL, *w = strtok_r(copy, " \t\n", &save); w != NULL; w = strtok_r(NULL, " \t\n", &save)) {
            words[nwords++] = w;
        }
    }

    char **jargv = calloc((size_t) (n + nwords + user_argc + 5), sizeof(char *));
    int k = 0;
    jargv[k++] = (char *) java;
    for (int i = 0; i < n; i++) {
        jargv[k++] = (char *) opts[i];
    }
    for (int i = 0; i < nwords; i++) {
        jargv[k++] = words[i];
    }
    jargv[k++] = "-cp"; /* launch.sh: not -jar, which opens the jar before main */
    jargv[k++] = jar;
    jargv[k++] = "dev.q2.cli.Main";
    for (int i = 0; i < user_argc; i++) {
        jargv[k++] = user_args[i];
    }
    jargv[k] = NULL;
    execvp(java, jargv);
    fallback(); /* the script reports why java did not start */
    return 1;
}
