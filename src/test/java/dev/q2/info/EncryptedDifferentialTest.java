package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Encrypted images made by qemu-img 7.2 (LUKS with several ciphers, the legacy AES method, v2 and v3): q2 info
 * prints what qemu-img info prints, human and JSON, alone and with --backing-chain under an overlay; a damaged LUKS
 * header or crypto header extension gets qemu-img's refusal; and every command that needs guest data refuses the
 * image (or an overlay on it) with qemu-img's message and exit code, since neither has the key.
 */
@Tag("qemu")
class EncryptedDifferentialTest {
    private static final String SECRET = "secret,id=sec0,data=abc";

    @TempDir
    Path dir;

    /**
     * A LUKS and an AES image made once for the class: qemu-img spends about a second creating a LUKS image even
     * with iter-time=10 (it first measures PBKDF2 speed for half a second, twice).
     */
    @TempDir
    static Path shared;

    @BeforeAll
    static void createShared() {
        if (Qemu.available()) {
            for (String[] img : new String[][] {{"luks.qcow2", "luks"}, {"aes.qcow2", "aes"}}) {
                String o = "encrypt.format=" + img[1] + ",encrypt.key-secret=sec0"
                        + (img[1].equals("luks") ? ",encrypt.iter-time=10" : "");
                Qemu.img(shared, "create", "-q", "-f", "qcow2", "--object", SECRET, "-o", o, img[0], "4M");
            }
        }
    }

    /** Copies a shared image into this test's folder. */
    private void copyShared(String from, String to) throws IOException {
        Files.copy(shared.resolve(from), dir.resolve(to));
    }

    /** -o values for qemu-img create (with --object secret and iter-time=10 added for LUKS). */
    static Stream<String> images() {
        return Stream.of(
                "encrypt.format=luks",
                "encrypt.format=luks,encrypt.cipher-alg=aes-128,encrypt.hash-alg=sha1",
                "encrypt.format=luks,encrypt.cipher-alg=aes-192,encrypt.ivgen-alg=essiv",
                "encrypt.format=luks,encrypt.cipher-alg=twofish-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,"
                        + "encrypt.ivgen-hash-alg=sha256,encrypt.hash-alg=sha512",
                "encrypt.format=luks,encrypt.cipher-alg=serpent-128,encrypt.cipher-mode=cbc,"
                        + "encrypt.ivgen-alg=plain,encrypt.hash-alg=sha224",
                "encrypt.format=luks,encrypt.cipher-alg=twofish-256,encrypt.hash-alg=sha384",
                "encrypt.format=luks,encrypt.cipher-alg=cast5-128,encrypt.cipher-mode=cbc,encrypt.hash-alg=ripemd160",
                "encrypt.format=luks,encrypt.ivgen-hash-alg=md5",
                "encrypt.format=luks,compat=0.10,cluster_size=4k",
                "encrypt.format=luks,lazy_refcounts=on,refcount_bits=64,cluster_size=2M",
                "encrypt.format=aes",
                "encryption=on,compat=0.10",
                "encrypt.format=aes,compression_type=zstd,extended_l2=on");
    }

    private void create(String name, String options, String size) {
        String o = options + ",encrypt.key-secret=sec0" + (options.contains("luks") ? ",encrypt.iter-time=10" : "");
        Qemu.Result r = Qemu.img(dir, "create", "-q", "-f", "qcow2", "--object", SECRET, "-o", o, name, size);
        assertThat(r.exitCode()).as(r.err()).isZero();
    }

    @ParameterizedTest(name = "info {0}")
    @MethodSource("images")
    void infoMatchesQemuImg(String options) {
        Qemu.assumeAvailable();
        create("enc.qcow2", options, "16M");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-b", "enc.qcow2", "-F", "qcow2", "top.qcow2");
        for (String file : List.of("enc.qcow2", "top.qcow2")) {
            for (List<String> flags : List.of(List.<String>of(), List.of("--output=json"), List.of("--backing-chain"),
                    List.of("--backing-chain", "--output=json"))) {
                List<String> args = new ArrayList<>(List.of("info"));
                args.addAll(flags);
                args.add(file);
                Qemu.Result qemu = Qemu.img(dir, args.toArray(String[]::new));
                Cli.Result q2 = Cli.runIn(dir, args.toArray(String[]::new));
                assertThat(qemu.exitCode()).as(qemu.err()).isZero();
                assertThat(q2.exitCode()).as(q2.err()).isZero();
                String ours = flags.contains("--output=json") ? InfoFixtureTest.withoutL2Cache(q2.out())
                        : InfoFixtureTest.withoutHumanL2Cache(q2.out());
                assertThat(ours).as("%s", args).isEqualTo(qemu.out());
            }
        }
    }

    /** Commands that need guest data, each refused as qemu-img refuses it without the secret. */
    static Stream<List<String>> guestDataCommands() {
        return Stream.of(
                List.of("check", "IMG"),
                List.of("check", "--output=json", "IMG"),
                List.of("check", "-r", "all", "IMG"),
                List.of("check", "-r", "leaks", "IMG"),
                List.of("map", "IMG"),
                List.of("map", "--output=json", "IMG"),
                List.of("convert", "-O", "raw", "IMG", "out.raw"),
                List.of("convert", "-O", "qcow2", "IMG", "out.qcow2"),
                List.of("convert", "-n", "-O", "qcow2", "plain.qcow2", "IMG"),
                List.of("compare", "IMG", "plain.qcow2"),
                List.of("compare", "plain.qcow2", "IMG"),
                List.of("compare", "-s", "IMG", "IMG"),
                List.of("bench", "-c", "1", "IMG"),
                List.of("bench", "-c", "1", "-w", "IMG"));
    }

    @ParameterizedTest(name = "{0} on LUKS, AES and an overlay of LUKS")
    @MethodSource("guestDataCommands")
    void guestDataCommandsRefuseLikeQemuImg(List<String> command) throws IOException {
        Qemu.assumeAvailable();
        copyShared("luks.qcow2", "luks.qcow2");
        copyShared("aes.qcow2", "aes.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-b", "luks.qcow2", "-F", "qcow2", "top.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "plain.qcow2", "4M");
        for (String img : List.of("luks.qcow2", "aes.qcow2", "top.qcow2")) {
            byte[] before = Files.readAllBytes(dir.resolve(img));
            String[] args = command.stream().map(a -> a.equals("IMG") ? img : a).toArray(String[]::new);
            Qemu.Result qemu = Qemu.img(dir, args);
            Cli.Result q2 = Cli.runIn(dir, q2Args(args));
            assertThat(qemu.exitCode()).as("qemu-img %s: %s", List.of(args), qemu.err()).isNotZero();
            assertThat(q2.exitCode()).as("q2 %s", List.of(args)).isEqualTo(qemu.exitCode());
            assertThat(q2.out()).isEqualTo(qemu.out());
            assertThat(q2.err()).as("q2 %s", List.of(args)).isEqualTo(qemu.err().replace("qemu-img: ", "q2: "));
            assertThat(q2.err()).contains("Parameter 'encrypt.key-secret' is required for cipher");
            assertThat(Files.readAllBytes(dir.resolve(img))).as("%s untouched", img).isEqualTo(before);
            Files.deleteIfExists(dir.resolve("out.raw"));
            Files.deleteIfExists(dir.resolve("out.qcow2"));
        }
    }

    /** q2 bench has options of its own: -c N is --count N, -w is --rw write. */
    private static String[] q2Args(String[] qemuArgs) {
        if (!qemuArgs[0].equals("bench")) {
            return qemuArgs;
        }
        List<String> out = new ArrayList<>();
        for (String a : qemuArgs) {
            out.add(switch (a) {
                case "-c" -> "--count";
                case "-w" -> "--rw=write";
                default -> a;
            });
        }
        return out.toArray(String[]::new);
    }

    @ParameterizedTest(name = "io {0}")
    @ValueSource(strings = {"luks.qcow2", "aes.qcow2", "top.qcow2"})
    void ioRefusesLikeQemuIo(String img) throws IOException {
        Qemu.assumeAvailable();
        copyShared("luks.qcow2", "luks.qcow2");
        copyShared("aes.qcow2", "aes.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-b", "luks.qcow2", "-F", "qcow2", "top.qcow2");
        byte[] before = Files.readAllBytes(dir.resolve(img));
        for (List<String> flags : List.of(List.<String>of(), List.of("-r"))) {
            List<String> args = new ArrayList<>(flags);
            args.addAll(List.of("-c", "write -P 0x11 0 64k", "-c", "read 0 512", img));
            Qemu.Result qemu = Qemu.io(dir, args.toArray(String[]::new));
            List<String> ours = new ArrayList<>(List.of("io"));
            ours.addAll(args);
            Cli.Result q2 = Cli.runIn(dir, ours.toArray(String[]::new));
            assertThat(qemu.exitCode()).isEqualTo(1);
            assertThat(q2.exitCode()).isEqualTo(1);
            assertThat(q2.out()).isEmpty();
            assertThat(q2.err()).isEqualTo(qemu.err().replace("qemu-io: ", "q2: "));
        }
        assertThat(Files.readAllBytes(dir.resolve(img))).isEqualTo(before);
    }

    /** An edit of the LUKS image: a byte offset (LUKS-relative when {@code luks}) and big-endian bytes. */
    record Edit(String name, boolean luks, long offset, byte[] bytes) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Edit luks(String name, long offset, String text) {
        byte[] b = new byte[32];
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, b, 0, Math.min(32, t.length));
        return new Edit(name, true, offset, t.length >= 32 ? t : b);
    }

    private static Edit luksU32(String name, long offset, long value) {
        return new Edit(name, true, offset, ByteBuffer.allocate(4).putInt((int) value).array());
    }

    static Stream<Edit> damagedHeaders() {
        return Stream.of(
                new Edit("crypt method 3", false, 32, new byte[] {0, 0, 0, 3}),
                new Edit("crypt method 1 with a LUKS header", false, 32, new byte[] {0, 0, 0, 1}),
                new Edit("crypt method 0 with a LUKS header", false, 32, new byte[] {0, 0, 0, 0}),
                new Edit("header offset not cluster aligned", false, -1, null),
                new Edit("header length 100", false, -2, null),
                new Edit("magic", true, 5, new byte[] {(byte) 0xBF}),
                new Edit("version 2", true, 6, new byte[] {0, 2}),
                luks("cipher name not terminated", 8, "a".repeat(32)),
                luks("cipher mode not terminated", 40, "a".repeat(32)),
                luks("hash spec not terminated", 72, "a".repeat(32)),
                luks("unknown cipher", 8, "blowfish"),
                luks("mode without ivgen", 40, "xtsplain64"),
                luks("unknown mode", 40, "foo-plain64"),
                luks("unknown ivgen", 40, "xts-plain32"),
                luks("essiv without hash", 40, "xts-essiv"),
                luks("essiv with sha512", 40, "xts-essiv:sha512"),
                luks("unknown ivgen hash", 40, "xts-essiv:md4"),
                luks("plain64 with an ignored hash", 40, "xts-plain64:sha1"),
                luks("unknown hash", 72, "sha3"),
                luksU32("48 key bytes", 108, 48),
                luksU32("0 key bytes", 108, 0),
                luksU32("huge key bytes", 108, 0x8000_0000L),
                luksU32("payload inside the header", 104, 7),
                luksU32("payload before the key material", 104, 100),
                luksU32("huge payload", 104, 0xffff_ffffL),
                luksU32("no master key iterations", 164, 0),
                luksU32("slot 0 stripes 0", 208 + 44, 0),
                luksU32("slot 5 stripes 4001", 208 + 5 * 48 + 44, 4001),
                luksU32("slot 1 state", 208 + 48, 0x1234),
                luksU32("slot 0 without iterations", 208 + 4, 0),
                luksU32("inactive slot 1 without iterations", 208 + 48 + 4, 0),
                luksU32("slot 0 inside the header", 208 + 40, 7),
                luksU32("slots 0 and 1 overlap", 208 + 48 + 40, 8),
                luksU32("slot 1 inside the header", 208 + 48 + 40, 2),
                luks("uuid of 40 bytes", 168, "A".repeat(40)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("damagedHeaders")
    void damagedEncryptionHeadersAsQemuImg(Edit edit) throws IOException {
        Qemu.assumeAvailable();
        copyShared("luks.qcow2", "img.qcow2");
        long[] ptr = cryptoHeaderPointer(dir.resolve("img.qcow2"));
        try (FileChannel ch = FileChannel.open(dir.resolve("img.qcow2"), StandardOpenOption.WRITE)) {
            if (edit.offset() == -1) {
                ch.write(ByteBuffer.allocate(8).putLong(0, ptr[0] + 512), ptr[2] + 8);
            } else if (edit.offset() == -2) {
                ch.write(ByteBuffer.allocate(8).putLong(0, 100), ptr[2] + 16);
            } else {
                ch.write(ByteBuffer.wrap(edit.bytes()), (edit.luks() ? ptr[0] : 0) + edit.offset());
            }
        }
        for (String output : List.of("human", "json")) {
            Qemu.Result qemu = Qemu.img(dir, "info", "--output=" + output, "img.qcow2");
            Cli.Result q2 = Cli.runIn(dir, "info", "--output=" + output, "img.qcow2");
            assertThat(q2.exitCode()).as(q2.err()).isEqualTo(qemu.exitCode());
            assertThat(q2.err()).isEqualTo(qemu.err().replace("qemu-img: ", "q2: "));
            String ours = output.equals("json") ? InfoFixtureTest.withoutL2Cache(q2.out())
                    : InfoFixtureTest.withoutHumanL2Cache(q2.out());
            assertThat(ours).isEqualTo(qemu.out());
        }
        // with I/O, QEMU asks for the secret before it reads the LUKS header
        Qemu.Result qemu = Qemu.img(dir, "check", "img.qcow2");
        Cli.Result q2 = Cli.runIn(dir, "check", "img.qcow2");
        assertThat(q2.exitCode()).isEqualTo(qemu.exitCode());
        assertThat(q2.err()).isEqualTo(qemu.err().replace("qemu-img: ", "q2: "));
    }

    @Test
    void headerOutsideTheFileIsRefusedInQ2sWords() throws IOException {
        Qemu.assumeAvailable();
        copyShared("luks.qcow2", "img.qcow2");
        long[] ptr = cryptoHeaderPointer(dir.resolve("img.qcow2"));
        try (FileChannel ch = FileChannel.open(dir.resolve("img.qcow2"), StandardOpenOption.WRITE)) {
            ch.truncate(ptr[0] + 300);
        }
        // qemu-img reads the missing bytes as zeros: "Volume is not in LUKS format"
        assertThat(Qemu.img(dir, "info", "img.qcow2").exitCode()).isEqualTo(1);
        Cli.Result q2 = Cli.runIn(dir, "info", "img.qcow2");
        assertThat(q2.exitCode()).isEqualTo(1);
        assertThat(q2.err()).isEqualTo("q2: Could not open 'img.qcow2': LUKS header at offset " + ptr[0]
                + " runs past the end of the file (" + (ptr[0] + 300)
                + " bytes); the image is truncated or its header is corrupt\n");
    }

    @Test
    void luksWithoutItsHeaderExtensionIsRefused() throws IOException {
        Qemu.assumeAvailable();
        copyShared("aes.qcow2", "img.qcow2");
        try (FileChannel ch = FileChannel.open(dir.resolve("img.qcow2"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 2}), 32);
        }
        // qemu-img 7.2 info crashes on this image (SIGSEGV); with I/O it reports the missing header, as q2 does
        Qemu.Result qemu = Qemu.img(dir, "map", "img.qcow2");
        assertThat(qemu.err()).isEqualTo(
                "qemu-img: Could not open 'img.qcow2': Missing CRYPTO header for crypt method 2\n");
        for (String cmd : List.of("info", "map", "check")) {
            Cli.Result q2 = Cli.runIn(dir, cmd, "img.qcow2");
            assertThat(q2.exitCode()).isEqualTo(1);
            assertThat(q2.err()).isEqualTo(qemu.err().replace("qemu-img: ", "q2: "));
        }
    }

    /** {LUKS header offset, its length, file offset of the crypto header extension}. */
    static long[] cryptoHeaderPointer(Path img) throws IOException {
        byte[] b = Files.readAllBytes(img);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
        int p = buf.getInt(4) == 2 ? 72 : buf.getInt(100);
        while (true) {
            int type = buf.getInt(p);
            int len = buf.getInt(p + 4);
            if (type == 0) {
                throw new IllegalStateException("no crypto header extension");
            }
            if (type == 0x0537be77) {
                return new long[] {buf.getLong(p + 8), buf.getLong(p + 16), p};
            }
            p += 8 + ((len + 7) & ~7);
        }
    }
}
