/*
 * q2seek: the system calls q2 needs and Java 17 does not offer: lseek with SEEK_DATA / SEEK_HOLE (how QEMU's
 * file-posix driver finds holes), st_blocks (how QEMU's qcow2 driver detects metadata preallocation) and
 * fcntl(F_OFD_GETLK) (how QEMU's file-posix driver tests for a conflicting image lock) and
 * fallocate(FALLOC_FL_PUNCH_HOLE) (how QEMU's file-posix driver writes zeros that may be unmapped), and zlib's
 * deflate with a 4 KiB window (how QEMU's qcow2 driver compresses a cluster: the same library, so the same bytes),
 * and the system's libzstd for zstd clusters (opened with dlopen, so that the helper loads where it is missing).
 * Errors come back as negative errno values. Built by build.sh; loaded by dev.q2.io.NativeFiles.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* A NUL-terminated copy of a path given as bytes, to free(); NULL when out of memory. */
static char *c_path(JNIEnv *env, jbyteArray path)
{
    jsize n = (*env)->GetArrayLength(env, path);
    char *p = malloc((size_t) n + 1);
    if (p) {
        (*env)->GetByteArrayRegion(env, path, 0, n, (jbyte *) p);
        p[n] = 0;
    }
    return p;
}

JNIEXPORT jint JNICALL Java_dev_q2_io_NativeFiles_open0(JNIEnv *env, jclass cls, jbyteArray path)
{
    char *p = c_path(env, path);
    if (!p) {
        return -ENOMEM;
    }
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    int err = errno;
    free(p);
    return fd < 0 ? -err : fd;
}

JNIEXPORT jlong JNICALL Java_dev_q2_io_NativeFiles_seek0(JNIEnv *env, jclass cls, jint fd, jlong offset,
                                                          jboolean data)
{
    off_t r = lseek(fd, (off_t) offset, data ? SEEK_DATA : SEEK_HOLE);
    return r < 0 ? -(jlong) errno : (jlong) r;
}

JNIEXPORT jlong JNICALL Java_dev_q2_io_NativeFiles_allocated0(JNIEnv *env, jclass cls, jint fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        return -(jlong) errno;
    }
    return (jlong) st.st_blocks * 512;
}

/*
 * st_blocks * 512 of the file at the given path, or -errno. By path, not by a new descriptor: closing a second
 * descriptor of a file drops the POSIX locks this process holds on it.
 */
JNIEXPORT jlong JNICALL Java_dev_q2_io_NativeFiles_allocatedAt0(JNIEnv *env, jclass cls, jbyteArray path)
{
    char *p = c_path(env, path);
    if (!p) {
        return -ENOMEM;
    }
    struct stat st;
    int r = stat(p, &st);
    int err = errno;
    free(p);
    return r < 0 ? -(jlong) err : (jlong) st.st_blocks * 512;
}

/*
 * Tests whether a lock of the given kind on [start, start + len) would conflict with a lock another open file
 * description holds. Returns 0 when none would, the holder's pid for a process-associated (POSIX) lock, -1 for
 * an open file description lock (QEMU's kind, whose pid the kernel does not report), or -errno - 1.
 */
JNIEXPORT jint JNICALL Java_dev_q2_io_NativeFiles_lockTest0(JNIEnv *env, jclass cls, jint fd, jlong start,
                                                           jlong len, jboolean exclusive)
{
    struct flock fl = {0};
    fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t) start;
    fl.l_len = (off_t) len;
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno - 1;
    }
    if (fl.l_type == F_UNLCK) {
        return 0;
    }
    return fl.l_pid > 0 ? fl.l_pid : -1;
}

/*
 * Deallocates [offset, offset + len) of the file open as the given java.io.FileDescriptor, keeping its size; the
 * range reads as zeros afterwards. The descriptor is read from the object, not opened anew: closing a second
 * descriptor of the file would drop the POSIX locks this process holds on it. Returns 0 or -errno.
 */
JNIEXPORT jint JNICALL Java_dev_q2_io_NativeFiles_punchHole0(JNIEnv *env, jclass cls, jobject fdObject,
                                                            jlong offset, jlong len)
{
    jclass c = (*env)->GetObjectClass(env, fdObject);
    jfieldID field = (*env)->GetFieldID(env, c, "fd", "I");
    if (field == NULL) {
        (*env)->ExceptionClear(env);
        return -EBADF;
    }
    int fd = (*env)->GetIntField(env, fdObject, field);
    if (fd < 0) {
        return -EBADF;
    }
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) offset, (off_t) len) < 0) {
        return -errno;
    }
    return 0;
}

JNIEXPORT void JNICALL Java_dev_q2_io_NativeFiles_close0(JNIEnv *env, jclass cls, jint fd)
{
    close(fd);
}

/*
 * Compresses src[0..len) as QEMU's qcow2_zlib_compress does: raw deflate, default level, 12-bit window, memLevel 9.
 * Returns the compressed length, -1 when it does not fit in dst, -2 when zlib fails.
 */
JNIEXPORT jint JNICALL Java_dev_q2_io_NativeFiles_deflate0(JNIEnv *env, jclass cls, jbyteArray src, jint len,
                                                          jbyteArray dst)
{
    z_stream s = {0};
    jint out_len = (*env)->GetArrayLength(env, dst);
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -2;
    }
    jbyte *in = (*env)->GetPrimitiveArrayCritical(env, src, NULL);
    jbyte *out = in ? (*env)->GetPrimitiveArrayCritical(env, dst, NULL) : NULL;
    int rc = Z_STREAM_ERROR;
    if (in && out) {
        s.next_in = (Bytef *) in;
        s.avail_in = (uInt) len;
        s.next_out = (Bytef *) out;
        s.avail_out = (uInt) out_len;
        rc = deflate(&s, Z_FINISH);
    }
    if (out) {
        (*env)->ReleasePrimitiveArrayCritical(env, dst, out, 0);
    }
    if (in) {
        (*env)->ReleasePrimitiveArrayCritical(env, src, in, JNI_ABORT);
    }
    jint n = (jint) (out_len - s.avail_out);
    deflateEnd(&s);
    if (rc == Z_STREAM_END) {
        return n;
    }
    return rc == Z_OK || rc == Z_BUF_ERROR ? -1 : -2;
}

/*
 * zstd, from the system's libzstd.so.1 (the library QEMU links, so the same bytes for the same release). Only the
 * stable ABI is used: contexts are opaque pointers, the buffers are three-word structs, ZSTD_e_end is 2.
 */
typedef struct { const void *src; size_t size; size_t pos; } q2_zstd_in;
typedef struct { void *dst; size_t size; size_t pos; } q2_zstd_out;

static void *(*zstd_create_cctx)(void);
static size_t (*zstd_free_cctx)(void *);
static size_t (*zstd_compress_stream2)(void *, q2_zstd_out *, q2_zstd_in *, int);
static unsigned (*zstd_is_error)(size_t);
static int zstd_state; /* 0 not tried, 1 loaded, -1 missing */
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;

static void zstd_load(void)
{
    void *lib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        zstd_create_cctx = (void *(*)(void)) dlsym(lib, "ZSTD_createCCtx");
        zstd_free_cctx = (size_t (*)(void *)) dlsym(lib, "ZSTD_freeCCtx");
        zstd_compress_stream2 = (size_t (*)(void *, q2_zstd_out *, q2_zstd_in *, int)) dlsym(lib,
                "ZSTD_compressStream2");
        zstd_is_error = (unsigned (*)(size_t)) dlsym(lib, "ZSTD_isError");
    }
    zstd_state = zstd_create_cctx && zstd_free_cctx && zstd_compress_stream2 && zstd_is_error ? 1 : -1;
}

/*
 * Compresses src[0..len) as QEMU's qcow2_zstd_compress does: a new context at the default level, one
 * ZSTD_compressStream2 call with ZSTD_e_end into dst. Returns the compressed length, -1 when it does not fit in
 * dst, -2 when zstd fails, -3 when the system has no libzstd.so.1.
 */
JNIEXPORT jint JNICALL Java_dev_q2_io_NativeFiles_zstdCompress0(JNIEnv *env, jclass cls, jbyteArray src, jint len,
                                                               jbyteArray dst)
{
    pthread_once(&zstd_once, zstd_load);
    if (zstd_state != 1) {
        return -3;
    }
    void *cctx = zstd_create_cctx();
    if (!cctx) {
        return -2;
    }
    jint out_len = (*env)->GetArrayLength(env, dst);
    jbyte *in = (*env)->GetPrimitiveArrayCritical(env, src, NULL);
    jbyte *out = in ? (*env)->GetPrimitiveArrayCritical(env, dst, NULL) : NULL;
    jint rc = -2;
    if (in && out) {
        q2_zstd_in input = { in, (size_t) len, 0 };
        q2_zstd_out output = { out, (size_t) out_len, 0 };
        size_t left = zstd_compress_stream2(cctx, &output, &input, 2 /* ZSTD_e_end */);
        if (left == 0) {
            rc = (jint) output.pos;
        } else if (!zstd_is_error(left)) {
            rc = -1; /* more output was pending: it does not fit */
        }
    }
    if (out) {
        (*env)->ReleasePrimitiveArrayCritical(env, dst, out, 0);
    }
    if (in) {
        (*env)->ReleasePrimitiveArrayCritical(env, src, in, JNI_ABORT);
    }
    zstd_free_cctx(cctx);
    return rc;
}
