package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.Features;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.QcowHeader;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Header and tables of one check pass (the state qcow2_check_refcounts works on): the image's geometry from its
 * header, a copy of the active L1 table, the stored refcounts, the counted references, the counts of the pass and
 * the listener its phases report to. Shared by the phase classes of one pass; not thread-safe.
 */
final class CheckContext {
    // QEMU's names for the format's bits, kept short for the many uses in the phases; the values live in format.
    static final long L1E_OFFSET_MASK = L1Entry.OFFSET_MASK;
    static final long L1E_RESERVED_MASK = L1Entry.RESERVED_MASK;
    static final long L2E_OFFSET_MASK = L2Entry.OFFSET_MASK;
    static final long L2E_STD_RESERVED_MASK = L2Entry.STANDARD_RESERVED_MASK;
    static final long OFLAG_COPIED = L2Entry.OFLAG_COPIED;
    static final long OFLAG_COMPRESSED = L2Entry.OFLAG_COMPRESSED;
    static final long OFLAG_ZERO = L2Entry.OFLAG_ZERO;

    // cluster types as clusterType returns them: the ordinals of L2Entry.Type
    static final int UNALLOCATED = 0;
    static final int ZERO_PLAIN = 1;
    static final int ZERO_ALLOC = 2;
    static final int NORMAL = 3;
    static final int COMPRESSED = 4;

    final ImageFile file;
    final Qcow2Metadata image;
    final QcowHeader header;
    final CheckMode mode;
    final CheckSession session;
    final CheckListener listener;
    final int clusterBits;
    final long clusterSize;
    final int l2Entries;
    final int l2EntrySize;
    final boolean extendedL2;
    final boolean hasDataFile;
    final int csizeShift;
    final long csizeMask;
    final long clusterOffsetMask;
    final long refcountMax;
    final long[] l1Table;
    final StoredRefcounts stored;
    final TableReader tables;
    final MetadataGuard guard;

    long reftableOffset;
    long incompatibleFeatures;
    /** The counts of the pass; a phase may swap them for a while (the rebuild's leak count), so read it each time. */
    CheckCounts res = new CheckCounts();
    ReferenceCounts counts;
    long fileLength;
    /** Set when the refcount structure is broken beyond single repairs (QEMU's rebuild flag). */
    boolean rebuild;
    long highestCluster;

    CheckContext(Qcow2Metadata image, CheckMode mode, CheckSession session, CheckListener listener) throws IOException {
        this.image = image;
        this.file = image.file();
        this.header = image.header();
        this.mode = mode;
        this.session = session;
        this.listener = listener;
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.extendedL2 = header.extendedL2();
        this.l2EntrySize = header.l2EntrySize();
        this.l2Entries = (int) (clusterSize / l2EntrySize);
        this.hasDataFile = header.hasFeature(Features.INCOMPAT_DATA_FILE);
        this.csizeShift = 62 - (clusterBits - 8);
        this.csizeMask = (1L << (clusterBits - 8)) - 1;
        this.clusterOffsetMask = (1L << csizeShift) - 1;
        int bits = header.refcountBits();
        this.refcountMax = bits == 64 ? -1L : (1L << bits) - 1;
        this.l1Table = image.l1Table().clone();
        this.tables = new TableReader(file, (int) clusterSize);
        this.stored = new StoredRefcounts(tables.mapped(), clusterBits, header.refcountOrder(),
                image.refcountTable().clone(), file);
        this.reftableOffset = header.refcountTableOffset();
        this.incompatibleFeatures = header.incompatibleFeatures();
        this.guard = new MetadataGuard(this);
    }

    // ------------------------------------------------------------------ reporting

    /** A message as qemu-img prints it with fprintf(stderr). */
    void report(Severity severity, String text) {
        listener.message(new CheckMessage(severity, false, text));
    }

    /** A message as qemu-img prints it with error_report (headed by the program's name). */
    void errorReport(Severity severity, String text) {
        listener.message(new CheckMessage(severity, true, text));
    }

    /** "Repairing" when repairing, else "ERROR": the head of a finding QEMU repairs in place. */
    void finding(boolean repairing, String rest) {
        report(repairing ? Severity.REPAIR : Severity.CORRUPTION, (repairing ? "Repairing" : "ERROR") + rest);
    }

    // ------------------------------------------------------------------ counting references

    long sizeToClusters(long bytes) {
        return (bytes + clusterSize - 1) >>> clusterBits;
    }

    /** qcow2_inc_refcounts_imrt: one more reference to every cluster touching [offset, offset + size). */
    void incRefcounts(long offset, long size) {
        if (size <= 0) {
            return;
        }
        if (offset + size - fileLength >= clusterSize) {
            report(Severity.CORRUPTION, "ERROR: counting reference for region exceeding the end of the file by one"
                    + " cluster or more: offset 0x" + Long.toHexString(offset) + " size 0x" + Long.toHexString(size));
            res.corruptions++;
            return;
        }
        long start = offset & ~(clusterSize - 1);
        long last = (offset + size - 1) & ~(clusterSize - 1);
        for (long c = start; c <= last; c += clusterSize) {
            incCluster(c);
        }
    }

    void incCluster(long clusterOffset) {
        long k = clusterOffset >>> clusterBits;
        if (k >= counts.size()) {
            if (!ReferenceCounts.countable(k + 1)) {
                // QEMU's realloc_refcount_array fails (-ENOMEM): check_errors, then "Check failed"
                res.checkErrors++;
                throw new NoMemory();
            }
            counts.grow(k + 1);
        }
        if (!counts.increment(k)) {
            report(Severity.CORRUPTION, "ERROR: overflow cluster offset=0x" + Long.toHexString(clusterOffset)
                    + "\nUse qemu-img amend to increase the refcount entry width or qemu-img convert to create a"
                    + " clean copy if the image cannot be opened for writing");
            res.corruptions++;
        }
    }

    /**
     * The stored refcount of the data cluster an L2 entry points to (data file clusters always count 1); null when
     * it cannot be read, in which case QEMU skips the OFLAG_COPIED comparison.
     */
    Long dataClusterRefcount(long entry) throws IOException {
        if (hasDataFile) {
            return 1L;
        }
        try {
            return stored.get((entry & L2E_OFFSET_MASK) >>> clusterBits);
        } catch (StoredRefcounts.UnreadableRefcount e) {
            return null;
        }
    }

    /** The entry's type as one of the constants above, which follow L2Entry.Type's order. */
    int clusterType(long entry) {
        return L2Entry.type(entry, extendedL2, hasDataFile).ordinal();
    }

    long[] readLongs(long offset, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n * 8).order(ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(offset, b);
        b.flip();
        long[] out = new long[n];
        b.asLongBuffer().get(out);
        return out;
    }

    /** Switches the in-memory state to a new refcount table that the header now points at. */
    void switchRefcountTable(long offset, long[] table) {
        reftableOffset = offset;
        stored.replaceTable(table);
    }

    /** printf's {@code %#x}: "0" for zero, else 0x and lowercase hex. */
    static String hashHex(long v) {
        return v == 0 ? "0" : "0x" + Long.toHexString(v);
    }

    /**
     * The in-memory refcounts cannot grow to a referenced cluster (an offset with bit 63 set passes the end-of-file
     * test, as in QEMU): the pass ends with "Check failed: Cannot allocate memory" ({@link CheckPass}).
     */
    static final class NoMemory extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NoMemory() {
            super("Cannot allocate memory", null, false, false);
        }
    }
}
