package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Header strings are C strings to QEMU: a backing file name, backing format, data file name, snapshot id or name
 * with a NUL byte ends at it (an empty backing name is no backing file, an empty backing format is probed, an empty
 * data file name is the file driver's "requires a file name"). Every command that opens the image answers as
 * qemu-img (and q2 io as qemu-io) does: info, check, map, convert, compare, io.
 */
@Tag("qemu")
class CStringHeaderDifferentialTest extends QemuTest {
    private static final int BACKING_FORMAT = 0xe2792aca;
    private static final int DATA_FILE = 0x44415441;

    enum Patch {
        BACKING_NAME_NUL_INSIDE, BACKING_NAME_NUL_FIRST, BACKING_FORMAT_NUL_INSIDE, BACKING_FORMAT_NUL_FIRST,
        SNAPSHOT_NAME_NUL, SNAPSHOT_ID_NUL, DATA_FILE_NUL_INSIDE, DATA_FILE_NUL_FIRST
    }

    @ParameterizedTest
    @EnumSource(Patch.class)
    void cutAtTheFirstNulEverywhere(Patch p) throws Exception {
        boolean dataFile = p.name().startsWith("DATA_FILE");
        if (dataFile) {
            img("create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "img.qcow2", "1M");
        } else {
            img("create", "-q", "-f", "raw", "base.raw", "1M");
            assertThat(Qemu.io(dir, "-f", "raw", "-c", "write -P 5 0 1M", "base.raw").exitCode()).isZero();
            img("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "img.qcow2", "1M");
        }
        io("img.qcow2", "write -P 3 0 64k");
        if (!dataFile) {
            img("snapshot", "-c", "snapAB", "img.qcow2");
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            switch (p) {
                case BACKING_NAME_NUL_INSIDE -> backingName(f, "base.raw\0xyz");
                case BACKING_NAME_NUL_FIRST -> backingName(f, "\0ase.raw");
                case BACKING_FORMAT_NUL_INSIDE -> extension(f, BACKING_FORMAT, "r\0w");
                case BACKING_FORMAT_NUL_FIRST -> extension(f, BACKING_FORMAT, "\0aw");
                case SNAPSHOT_NAME_NUL -> snapshotString(f, false, "sn\0pAB");
                case SNAPSHOT_ID_NUL -> snapshotString(f, true, "\0");
                case DATA_FILE_NUL_INSIDE -> extension(f, DATA_FILE, "d.raw\0ju");
                case DATA_FILE_NUL_FIRST -> extension(f, DATA_FILE, "\0.raw");
            }
        }
        String[][] commands = {
            {"info", "img.qcow2"}, {"check", "img.qcow2"}, {"check", "--output=json", "img.qcow2"},
            {"map", "--output=json", "img.qcow2"}, {"compare", "img.qcow2", "img.qcow2"},
            {"convert", "-O", "raw", "img.qcow2", "OUT.raw"}};
        ReadCommands.sameAsQemuImg(dir, p + ": ", commands);
        for (String io : new String[] {"read -P 3 0 64k", "read -P 5 64k 64k", "read -P 0 64k 64k"}) {
            Qemu.Result qr = Qemu.io(dir, "-r", "-c", io, "img.qcow2");
            Cli.Result mr = Cli.runIn(dir, "io", "-r", "-c", io, "img.qcow2");
            String what = p + ": io " + io;
            assertThat(mr.err()).as(what).isEqualTo(qr.err().replace("qemu-io: ", "q2: "));
            assertThat(mr.exitCode()).as(what).isEqualTo(qr.exitCode());
            assertThat(mr.out().contains("Pattern verification failed")).as(what)
                    .isEqualTo(qr.out().contains("Pattern verification failed"));
        }
    }

    private static void backingName(RandomAccessFile f, String name) throws IOException {
        f.seek(8);
        long offset = f.readLong();
        byte[] b = name.getBytes(StandardCharsets.ISO_8859_1);
        f.seek(offset);
        f.write(b);
        f.seek(16);
        f.writeInt(b.length);
    }

    /** Replaces the data of an extension (the new data must fit in the old padded length). */
    private static void extension(RandomAccessFile f, int type, String value) throws IOException {
        long p = ImageBytes.findExtension(f, type);
        if (p < 0) {
            throw new IllegalStateException("no extension " + Integer.toHexString(type));
        }
        f.seek(p + 4);
        int len = f.readInt();
        byte[] b = value.getBytes(StandardCharsets.ISO_8859_1);
        assertThat(b.length).isLessThanOrEqualTo((len + 7) & ~7);
        f.seek(p + 4);
        f.writeInt(b.length);
        f.write(b);
    }

    /** Overwrites the first snapshot's id or name with a string of the same length. */
    private static void snapshotString(RandomAccessFile f, boolean id, String value) throws IOException {
        f.seek(64);
        long sn = f.readLong();
        f.seek(sn + 12);
        int idSize = f.readUnsignedShort();
        int nameSize = f.readUnsignedShort();
        f.seek(sn + 36);
        int extra = f.readInt();
        byte[] b = value.getBytes(StandardCharsets.ISO_8859_1);
        assertThat(b.length).isEqualTo(id ? idSize : nameSize);
        f.seek(sn + 40 + extra + (id ? 0 : idSize));
        f.write(b);
    }
}
