package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Unknown incompatible features are named from the feature name table as QEMU reads it (iotest 036): the
 * extension's bytes padded with zeros to whole 48-byte entries (so a table shorter than an entry still names a bit
 * from the bytes it has), up to the first entry with an empty name, in table order; and the compression type is
 * validated as QEMU validates it (iotest 287: zlib with the compression type bit set is refused). info, check and
 * map answer as qemu-img does.
 */
@Tag("qemu")
class FeatureTableDifferentialTest extends QemuTest {
    private static final int FEATURE_NAME_TABLE = 0x6803f857;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"table=0", "table=2", "table=8", "table=40", "table=47", "table=48", "table=96",
        "table=100", "emptyfirst", "compress=zlib+bit", "compress=zstd-bit", "compress=7", "compress=7+bit"})
    void sameAsQemuImg(String c) throws Exception {
        String opts = c.startsWith("compress=zstd") ? "compression_type=zstd" : "compression_type=zlib";
        img("create", "-q", "-f", "qcow2", "-o", opts, "img.qcow2", "1M");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            f.seek(72);
            long incompat = f.readLong();
            if (c.startsWith("compress=")) {
                String how = c.substring(9);
                boolean bit = how.endsWith("+bit");
                incompat = bit ? incompat | 8 : incompat & ~8L;
                if (how.startsWith("7")) {
                    f.seek(104);
                    f.write(7);
                }
            } else {
                incompat |= (1L << 10) | (1L << 11);
                long p = ImageBytes.findExtension(f, FEATURE_NAME_TABLE);
                if (p >= 0) {
                    byte[] t = new byte[96];
                    t[1] = 11;
                    System.arraycopy("second".getBytes(StandardCharsets.US_ASCII), 0, t, 2, 6);
                    t[49] = 10;
                    System.arraycopy("custom".getBytes(StandardCharsets.US_ASCII), 0, t, 50, 6);
                    if (c.equals("emptyfirst")) {
                        t[2] = 0; // the first name is empty: QEMU stops there
                    }
                    f.seek(p + 8);
                    f.write(t);
                    if (c.startsWith("table=")) {
                        f.seek(p + 4);
                        f.writeInt(Integer.parseInt(c.substring(6)));
                    }
                }
            }
            f.seek(72);
            f.writeLong(incompat);
        }
        for (String[] cmd : new String[][] {{"info", "img.qcow2"}, {"check", "img.qcow2"},
            {"map", "--output=json", "img.qcow2"}}) {
            Qemu.Result q = Qemu.img(dir, cmd);
            Cli.Result m = Cli.runIn(dir, cmd);
            String what = c + ": " + cmd[0];
            assertThat(m.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
            assertThat(m.exitCode()).as(what).isEqualTo(q.exitCode());
        }
    }
}
