package dev.q2;

import dev.q2.cache.L2CacheSizing;
import dev.q2.image.DiskOptions;

/**
 * How {@link Qcow2#open} opens an image: read-only or read-write, whether it shares the image with other processes
 * (qemu-img's {@code -U}), whether it opens the backing chain, and the L2 cache. Immutable: the {@code with}
 * methods return changed copies. Thread-safe.
 *
 * <pre>{@code
 * OpenOptions ro = OpenOptions.readOnly();
 * OpenOptions rw = OpenOptions.readWrite().withL2CacheSize(4 << 20);
 * }</pre>
 */
public final class OpenOptions {
    private final DiskOptions disk;

    private OpenOptions(DiskOptions disk) {
        this.disk = disk;
    }

    /**
     * Read-only, with QEMU's shared read lock, the backing chain opened, QEMU's default L2 cache.
     *
     * @return the options
     */
    public static OpenOptions readOnly() {
        return new OpenOptions(DiskOptions.readOnly());
    }

    /**
     * Read-write, with QEMU's write lock, the backing chain opened (read-only), QEMU's default L2 cache; flushes are
     * durable (fsync).
     *
     * @return the options
     */
    public static OpenOptions readWrite() {
        return new OpenOptions(DiskOptions.readWrite());
    }

    /**
     * Whether to take and check no locks (qemu-img {@code -U}, force-share); for read-only opens only.
     *
     * @param share true to share
     * @return changed options
     */
    public OpenOptions withForceShare(boolean share) {
        return new OpenOptions(disk.withForceShare(share));
    }

    /**
     * Whether to open the backing chain. Without it, reads of clusters the image does not allocate return zeros.
     *
     * @param open false to leave the backing chain closed
     * @return changed options
     */
    public OpenOptions withBackingChain(boolean open) {
        return new OpenOptions(open ? new DiskOptions(disk.writable(), disk.forceShare(), disk.l2CacheBytes(),
                disk.l2CacheMax(), disk.l2CacheEntrySize(), true, disk.durable(), disk.workDir(), disk.backingFormat(),
                disk.dataFile(), disk.keys())
                : disk.withoutBacking());
    }

    /**
     * The L2 cache capacity in bytes (QEMU's {@code l2-cache-size}); 0 for QEMU's default (enough for the whole disk,
     * at most 32 MiB).
     *
     * @param bytes the capacity, 0 or more
     * @return changed options
     */
    public OpenOptions withL2CacheSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative L2 cache size " + bytes);
        }
        return new OpenOptions(disk.withL2Cache(bytes, disk.l2CacheEntrySize()));
    }

    /**
     * Whether flushes make writes durable (fsync); qemu-img convert writes without ({@code cache=unsafe}).
     *
     * @param durable false to skip fsync
     * @return changed options
     */
    public OpenOptions withDurableFlush(boolean durable) {
        return new OpenOptions(disk.withDurable(durable));
    }

    /**
     * The key secret of an encrypted image (QEMU's {@code encrypt.key-secret}): the passphrase of a LUKS image, the
     * password of a legacy AES one. Ignored for an unencrypted image; an encrypted image opened without one is
     * refused ("Parameter 'encrypt.key-secret' is required for cipher"). The bytes are copied and never printed.
     *
     * @param secret the passphrase bytes (UTF-8 without NUL, as QEMU requires)
     * @return changed options
     */
    public OpenOptions withKeySecret(byte[] secret) {
        return withKeys(dev.q2.crypto.ImageKeys.of(new dev.q2.crypto.Secret("key-secret", secret)));
    }

    /**
     * The key secrets of an encrypted image and its backing chain ({@code encrypt.key-secret},
     * {@code backing.encrypt.key-secret}, ...), as {@link dev.q2.crypto.ImageKeys} nests them.
     *
     * @param keys the keys, or null for none
     * @return changed options
     */
    public OpenOptions withKeys(dev.q2.crypto.ImageKeys keys) {
        return new OpenOptions(disk.withKeys(keys));
    }

    /**
     * Whether these options open for writing.
     *
     * @return true for read-write
     */
    public boolean writable() {
        return disk.writable();
    }

    /**
     * Whether locks are skipped.
     *
     * @return true with force-share
     */
    public boolean forceShare() {
        return disk.forceShare();
    }

    /**
     * Whether the backing chain is opened.
     *
     * @return true when it is
     */
    public boolean backingChain() {
        return disk.openBacking();
    }

    /**
     * The L2 cache capacity asked for; 0 for QEMU's default.
     *
     * @return bytes
     */
    public long l2CacheSize() {
        return disk.l2CacheBytes();
    }

    DiskOptions toDiskOptions() {
        return disk;
    }

    @Override
    public String toString() {
        return "OpenOptions[" + (disk.writable() ? "read-write" : "read-only") + (disk.forceShare() ? ", shared" : "")
                + (disk.openBacking() ? "" : ", no backing") + ", l2-cache-size=" + disk.l2CacheBytes() + " (max "
                + (disk.l2CacheMax() == L2CacheSizing.QEMU_DEFAULT_MAX ? "default" : disk.l2CacheMax()) + ")]";
    }
}
