/*
 * q2seek: the three system calls q2 map needs and Java 17 does not offer: lseek with SEEK_DATA / SEEK_HOLE (how
 * QEMU's file-posix driver finds holes) and st_blocks (how QEMU's qcow2 driver detects metadata preallocation).
 * Errors come back as negative errno values. Built by build.sh; loaded by dev.q2.map.NativeFiles.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

JNIEXPORT jint JNICALL Java_dev_q2_io_NativeFiles_open0(JNIEnv *env, jclass cls, jbyteArray path)
{
    jsize n = (*env)->GetArrayLength(env, path);
    char *p = malloc((size_t) n + 1);
    if (!p) {
        return -ENOMEM;
    }
    (*env)->GetByteArrayRegion(env, path, 0, n, (jbyte *) p);
    p[n] = 0;
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

JNIEXPORT void JNICALL Java_dev_q2_io_NativeFiles_close0(JNIEnv *env, jclass cls, jint fd)
{
    close(fd);
}
