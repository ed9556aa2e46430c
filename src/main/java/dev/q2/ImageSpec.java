package dev.q2;

import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.create.CreateRequest;
import dev.q2.create.CreateSpec;
import dev.q2.create.Preallocation;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Qcow2#create(Path, ImageSpec)} makes: the virtual size and qemu-img create's qcow2 options, typed.
 * Built with {@link #builder(long)}; {@link Builder#build()} checks the combination with the same rules and the
 * same messages as {@code q2 create} (and qemu-img create), throwing a {@link Q2Exception} of category
 * {@link Q2Exception.Category#INVALID_ARGUMENT}. Options left unset take qemu-img's defaults. Immutable and
 * thread-safe.
 *
 * <pre>{@code
 * ImageSpec spec = ImageSpec.builder(1L << 30).extendedL2(true).clusterSize(128 * 1024).build();
 * }</pre>
 */
public final class ImageSpec {
    /** The qcow2 version: {@code compat=0.10} (version 2) or {@code compat=1.1} (version 3, the default). */
    public enum Compat {
        /** qcow2 version 2 ({@code compat=0.10}). */
        V2("0.10"),
        /** qcow2 version 3 ({@code compat=1.1}). */
        V3("1.1");

        private final String option;

        Compat(String option) {
            this.option = option;
        }

        /**
         * The value of qemu-img's {@code compat} option.
         *
         * @return "0.10" or "1.1"
         */
        public String optionValue() {
            return option;
        }
    }

    /** How compressed clusters are compressed ({@code compression_type}). */
    public enum Compression {
        /** zlib (deflate), the default. */
        ZLIB,
        /** zstd. */
        ZSTD
    }

    /** The file name options are checked against before there is one (no file can have it: it holds a NUL). */
    static final String UNNAMED = "\0new image";

    private final long size;
    private final Map<String, String> options;
    private final String backingFile;
    private final ImageFormat backingFormat;

    private ImageSpec(Builder b) {
        this.size = b.size;
        this.options = Collections.unmodifiableMap(new LinkedHashMap<>(b.options));
        this.backingFile = b.backingFile;
        this.backingFormat = b.backingFormat;
    }

    /**
     * A builder for an image of {@code size} bytes (rounded up to 512, as qemu-img does).
     *
     * @param size the virtual size in bytes
     * @return the builder
     */
    public static Builder builder(long size) {
        return new Builder(size);
    }

    /**
     * The virtual size asked for.
     *
     * @return bytes
     */
    public long size() {
        return size;
    }

    /**
     * The options as qemu-img create's {@code -o} names them, only those set.
     *
     * @return an unmodifiable map, in the order they were set
     */
    public Map<String, String> options() {
        return options;
    }

    /**
     * The backing file name, as it goes into the header (relative names are relative to the new image's folder).
     *
     * @return the name or null
     */
    public String backingFile() {
        return backingFile;
    }

    /**
     * The backing file's format.
     *
     * @return the format or null
     */
    public ImageFormat backingFormat() {
        return backingFormat;
    }

    /** Plans the image as q2 create does; {@code unsafe} skips opening the backing file. */
    CreateSpec plan(Path workDir, String filename, boolean unsafe) throws Q2Exception {
        CreateOptions o = new CreateOptions();
        options.forEach(o::set);
        try {
            return CreatePlanner.plan(new CreateRequest(workDir, filename, Long.toString(size), o, backingFile,
                    backingFormat == null ? null : backingFormat.driverName(), unsafe)).spec();
        } catch (CreateException e) {
            throw new Q2Exception(Q2Exception.Category.INVALID_ARGUMENT, e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "ImageSpec[size=" + size + ", " + options + (backingFile == null ? ""
                : ", backing_file=" + backingFile + ", backing_fmt=" + backingFormat.driverName()) + "]";
    }

    /** Collects the options of an {@link ImageSpec}; not thread-safe. */
    public static final class Builder {
        private final long size;
        private final Map<String, String> options = new LinkedHashMap<>();
        private String backingFile;
        private ImageFormat backingFormat;

        private Builder(long size) {
            this.size = size;
        }

        private Builder set(String name, String value) {
            options.put(name, value);
            return this;
        }

        private static String onOff(boolean b) {
            return b ? "on" : "off";
        }

        /**
         * The cluster size ({@code cluster_size}): a power of two from 512 bytes to 2 MiB; 64 KiB by default.
         *
         * @param bytes the size
         * @return this builder
         */
        public Builder clusterSize(long bytes) {
            return set("cluster_size", Long.toString(bytes));
        }

        /**
         * Extended L2 entries ({@code extended_l2}): 32 subclusters per cluster; needs version 3 and clusters of at
         * least 16 KiB.
         *
         * @param on true for extended L2
         * @return this builder
         */
        public Builder extendedL2(boolean on) {
            return set("extended_l2", onOff(on));
        }

        /**
         * The qcow2 version ({@code compat}).
         *
         * @param compat the version
         * @return this builder
         */
        public Builder compat(Compat compat) {
            return set("compat", compat.optionValue());
        }

        /**
         * The width of a refcount in bits ({@code refcount_bits}): a power of two from 1 to 64; 16 by default.
         *
         * @param bits the width
         * @return this builder
         */
        public Builder refcountBits(int bits) {
            return set("refcount_bits", Integer.toString(bits));
        }

        /**
         * Lazy refcounts ({@code lazy_refcounts}); needs version 3.
         *
         * @param on true to postpone refcount updates
         * @return this builder
         */
        public Builder lazyRefcounts(boolean on) {
            return set("lazy_refcounts", onOff(on));
        }

        /**
         * The preallocation mode ({@code preallocation}).
         *
         * @param mode off, metadata, falloc or full
         * @return this builder
         */
        public Builder preallocation(Preallocation mode) {
            return set("preallocation", mode.optionValue());
        }

        /**
         * The compression type ({@code compression_type}); zstd needs version 3.
         *
         * @param type zlib or zstd
         * @return this builder
         */
        public Builder compression(Compression type) {
            return set("compression_type", type.name().toLowerCase(java.util.Locale.ROOT));
        }

        /**
         * A backing file ({@code -b} and {@code -F}).
         *
         * @param name the name written into the header; relative names are relative to the new image's folder
         * @param format its format
         * @return this builder
         */
        public Builder backingFile(String name, ImageFormat format) {
            this.backingFile = java.util.Objects.requireNonNull(name, "name");
            this.backingFormat = java.util.Objects.requireNonNull(format, "format");
            return this;
        }

        /**
         * An external data file ({@code data_file}, {@code data_file_raw}); needs version 3.
         *
         * @param name the name written into the header, relative to the new image's folder
         * @param raw whether the data file stays valid as a raw image
         * @return this builder
         */
        public Builder dataFile(String name, boolean raw) {
            set("data_file", name);
            return set("data_file_raw", onOff(raw));
        }

        /**
         * Checks the options as q2 create does and returns the spec.
         *
         * @return the spec
         * @throws Q2Exception with q2 create's message when the options are invalid
         */
        public ImageSpec build() throws Q2Exception {
            ImageSpec spec = new ImageSpec(this);
            spec.plan(Path.of("").toAbsolutePath(), UNNAMED, true); // no I/O: create checks the backing file
            return spec;
        }
    }
}
