package dev.q2.image;

import dev.q2.cache.L2CacheSizing;

/**
 * How to open a qcow2 image as a disk.
 *
 * @param writable open for writing (takes QEMU's write locks)
 * @param forceShare take and check no locks (qemu-img -U); only for read-only opens
 * @param l2CacheBytes L2 cache capacity; 0 for the default (whole-disk coverage capped at {@code l2CacheMax})
 * @param l2CacheMax cap for the default capacity (QEMU's 32 MiB unless changed)
 * @param l2CacheEntrySize bytes per cache entry (a slice of an L2 table); 0 for a whole table (the cluster size)
 * @param openBacking whether to open the backing chain (reads of unallocated clusters need it)
 * @param durable whether flush() also makes the writes durable (fsync); qemu-img convert writes its target
 *     without ("cache=unsafe" is its default), so q2 convert does too
 * @param workDir the working folder, where an external data file named relatively is found (as QEMU finds it:
 *     {@link dev.q2.format.ChildNames#dataFile}); null for the process's
 * @param backingFormat the backing file's format over the one the image records (QEMU's {@code backing.driver}
 *     option, given by the user), or null
 * @param dataFile the external data file to open instead of the one the image names (QEMU's
 *     {@code data-file.filename}, given by the user; relative to the working folder), or null
 * @param keys the key secrets of an encrypted image and its backing chain ({@code encrypt.key-secret}); null for
 *     none
 */
public record DiskOptions(boolean writable, boolean forceShare, long l2CacheBytes, long l2CacheMax,
                          int l2CacheEntrySize, boolean openBacking, boolean durable, java.nio.file.Path workDir,
                          String backingFormat, String dataFile, dev.q2.crypto.ImageKeys keys) {

    /**
     * Options without user overrides of the backing format or data file, and without key secrets.
     *
     * @param writable open for writing
     * @param forceShare take and check no locks
     * @param l2CacheBytes L2 cache capacity, 0 for the default
     * @param l2CacheMax cap for the default capacity
     * @param l2CacheEntrySize bytes per cache entry, 0 for a whole table
     * @param openBacking whether to open the backing chain
     * @param durable whether flush() also fsyncs
     * @param workDir the working folder, null for the process's
     */
    public DiskOptions(boolean writable, boolean forceShare, long l2CacheBytes, long l2CacheMax,
                       int l2CacheEntrySize, boolean openBacking, boolean durable, java.nio.file.Path workDir) {
        this(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, durable, workDir, null,
                null, null);
    }

    /**
     * Options with the process's working folder.
     *
     * @param writable open for writing
     * @param forceShare take and check no locks
     * @param l2CacheBytes L2 cache capacity, 0 for the default
     * @param l2CacheMax cap for the default capacity
     * @param l2CacheEntrySize bytes per cache entry, 0 for a whole table
     * @param openBacking whether to open the backing chain
     * @param durable whether flush() also fsyncs
     */
    public DiskOptions(boolean writable, boolean forceShare, long l2CacheBytes, long l2CacheMax,
                       int l2CacheEntrySize, boolean openBacking, boolean durable) {
        this(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, durable, null);
    }

    /** @return read-only, with locks, QEMU's default cache, the backing chain, durable flushes */
    public static DiskOptions readOnly() {
        return new DiskOptions(false, false, 0, L2CacheSizing.QEMU_DEFAULT_MAX, 0, true, true);
    }

    /** @return read-write, with locks, QEMU's default cache, the backing chain, durable flushes */
    public static DiskOptions readWrite() {
        return new DiskOptions(true, false, 0, L2CacheSizing.QEMU_DEFAULT_MAX, 0, true, true);
    }

    /**
     * @param share take and check no locks
     * @return a copy with it
     */
    public DiskOptions withForceShare(boolean share) {
        return new DiskOptions(writable, share, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, durable,
                workDir, backingFormat, dataFile, keys);
    }

    /**
     * @param bytes L2 cache capacity, 0 for the default
     * @param entrySize bytes per cache entry, 0 for a whole table
     * @return a copy with them
     */
    public DiskOptions withL2Cache(long bytes, int entrySize) {
        return new DiskOptions(writable, forceShare, bytes, l2CacheMax, entrySize, openBacking, durable,
                workDir, backingFormat, dataFile, keys);
    }

    /**
     * @param d whether flush() also fsyncs
     * @return a copy with it
     */
    public DiskOptions withDurable(boolean d) {
        return new DiskOptions(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, d,
                workDir, backingFormat, dataFile, keys);
    }

    /** @return a copy that does not open the backing chain */
    public DiskOptions withoutBacking() {
        return new DiskOptions(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, false, durable,
                workDir, backingFormat, dataFile, keys);
    }

    /**
     * These options with {@code dir} as the working folder (where relative data file names are found).
     *
     * @param dir the working folder
     * @return a copy with it
     */
    public DiskOptions withWorkDir(java.nio.file.Path dir) {
        return new DiskOptions(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, durable,
                dir, backingFormat, dataFile, keys);
    }

    /**
     * These options with the user's overrides of what the image names (QEMU's {@code backing.driver} and
     * {@code data-file.filename} options).
     *
     * @param backingFmt the backing file's format, or null for the image's
     * @param dataFileName the data file to open, or null for the image's
     * @return a copy with them
     */
    public DiskOptions withOverrides(String backingFmt, String dataFileName) {
        return new DiskOptions(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, durable,
                workDir, backingFmt, dataFileName, keys);
    }

    /**
     * These options with the key secrets of an encrypted image (and its backing chain).
     *
     * @param k the keys, or null for none
     * @return a copy with them
     */
    public DiskOptions withKeys(dev.q2.crypto.ImageKeys k) {
        return new DiskOptions(writable, forceShare, l2CacheBytes, l2CacheMax, l2CacheEntrySize, openBacking, durable,
                workDir, backingFormat, dataFile, k);
    }

    /** @return the working folder: {@link #workDir()}, or the process's */
    public java.nio.file.Path workFolder() {
        return workDir != null ? workDir : java.nio.file.Path.of("").toAbsolutePath();
    }
}
