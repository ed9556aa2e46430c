package dev.q2.cli;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Block-layer names (json:, file:, --image-opts, qemu-io's open -o) in q2's commands against qemu-img and qemu-io
 * 7.2: the same stdout (q2 info's L2 cache report left out), stderr (but for the program's name) and exit code.
 */
@Tag("qemu")
class ImageNameDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void images() throws Exception {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "base.qcow2", "1M");
        Qemu.ioOk(dir, "base.qcow2", "write -P 42 0 64k");
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2");
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "file:a:b.qcow2");
        Files.createDirectories(dir.resolve("folder"));
    }

    private void sameAsQemuImg(String... args) {
        Qemu.Result q = Qemu.img(dir, args);
        Cli.Result m = Cli.runIn(dir, args);
        // q2 info's own addition, and the two-line messages q2 joins on purpose (docs/compatibility.md)
        String out = m.out().replaceAll("L2 cache:\n(    .*\n)*", "");
        String what = String.join(" ", args);
        assertThat(m.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: ")
                .replace("\nCould not open backing image.", "; could not open backing image"));
        assertThat(out).as(what).isEqualTo(q.out());
        assertThat(m.exitCode()).as(what).isEqualTo(q.exitCode());
    }

    private void sameAsQemuIo(String... args) {
        java.util.List<String> mine = new java.util.ArrayList<>(java.util.List.of("io"));
        mine.addAll(java.util.List.of(args));
        Cli.Result m = Cli.runIn(dir, mine.toArray(new String[0]));
        Qemu.Result q = Qemu.io(dir, args);
        String what = String.join(" ", args);
        assertThat(m.err()).as(what).isEqualTo(q.err().replace("qemu-io: ", "q2: "));
        assertThat(m.out()).as(what).isEqualTo(q.out());
        assertThat(m.exitCode()).as(what).isEqualTo(q.exitCode());
    }

    @Test
    void infoOfNamesThatAreAFile() {
        sameAsQemuImg("info", "file:a:b.qcow2");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"top.qcow2\"}}");
        sameAsQemuImg("info", "json:{'driver':'qcow2','file.filename':'top.qcow2','l2-cache-size':'1M'}");
        sameAsQemuImg("info", "json:{\"file.filename\":\"top.qcow2\",\"backing\":null,\"cache\":{\"direct\":false}}");
        sameAsQemuImg("info", "json:{\"driver\":\"raw\",\"file.filename\":\"top.qcow2\"}");
        sameAsQemuImg("info", "-f", "raw", "json:{\"driver\":\"qcow2\",\"file.filename\":\"top.qcow2\"}");
        sameAsQemuImg("info", "--image-opts", "driver=qcow2,file.filename=top.qcow2,l2-cache-entry-size=4096");
        sameAsQemuImg("info", "--image-opts", "file.driver=file,file.filename=top.qcow2,file.locking=off");
        sameAsQemuImg("info", "--backing-chain", "--image-opts", "driver=qcow2,file.driver=file,file.filename=top.qcow2");
        Cli.Result json = Cli.runIn(dir, "info", "--output=json", "json:{\"file.filename\":\"top.qcow2\"}");
        assertThat(json.out()).contains("\"filename\": \"top.qcow2\"");
    }

    /**
     * json: names that are not JSON: QEMU's lexer, token gathering and parser messages, in info, convert and q2 io
     * (missing brace, trailing comma, bad escape, bad number, two values, none, a value that is not an object).
     */
    @Test
    void malformedJsonInQemusWords() {
        String[] bad = {"{\"driver\":\"qcow2\"", "{\"driver\":\"qcow2\",}", "{'file.filename':'a\\q'}",
            "[1]", "\"x\"", "null", "", "{", "}", "{\"a\":1}}", "{\"a\":1} {\"b\":2}", "{\"a\":1} x",
            "{'driver': 'qcow2'", "{\"driver\":\"qcow2\" \"x\":1}", "{\"a\":tru}", "{\"a\":True}", "{\"a\":[1,]}",
            "{\"a\":\"\\u12\"}", "{\"a\":\"\\uD800\\u0041\"}", "{\"a\":\"\\uFFFE\"}", "{\"a\":1e}", "{\"a\":01}",
            "{\"a\":-}", "{\"a\" 1}", "{1:2}", "{\"a\":1,\"a\":2}", "{\"a\":[}]}", "{\"a\":1]", "{\"a\":\"x\\\"}",
            "{\"a\":%d}", "{\"a\":\"abc"};
        for (String json : bad) {
            sameAsQemuImg("info", "json:" + json);
        }
        sameAsQemuImg("convert", "-O", "qcow2", "json:{\"driver\":\"qcow2\",}", "out.qcow2");
        sameAsQemuIo("-c", "read 0 512", "json:{\"a\":1e}");
        sameAsQemuIo("-c", "open json:{\"file.filename\":\"top.qcow2\"", "-c", "read 0 512");
    }

    @Test
    void namesRefusedInQemuImgsWords() {
        sameAsQemuImg("info", "json:[1]");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\"}");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"file\":\"top.qcow2\"}");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"filename\":\"top.qcow2\"}");
        sameAsQemuImg("info", "json:{\"filename\":\"top.qcow2\"}");
        sameAsQemuImg("info", "json:{\"driver\":\"foo\",\"file.filename\":\"top.qcow2\"}");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"file.filename\":\"top.qcow2\",\"size\":5}");
        sameAsQemuImg("info", "json:{\"driver\":\"raw\",\"file.filename\":\"top.qcow2\",\"foo\":\"x\"}");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"file\":{\"filename\":\"top.qcow2\",\"foo\":1}}");
        sameAsQemuImg("info", "--image-opts", "file.filename=top.qcow2,cache.writeback=on");
        sameAsQemuImg("info", "--image-opts", "file.filename=top.qcow2,read-only=maybe");
        sameAsQemuImg("info", "--image-opts", "top.qcow2");
        sameAsQemuImg("info", "--image-opts", "driver=qcow2,file.filename=mis,,sing.qcow2");
        sameAsQemuImg("info", "-f", "qcow2", "--image-opts", "driver=qcow2,file.filename=top.qcow2");
        sameAsQemuImg("info", "x:y.qcow2");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"file.filename\":\"missing.qcow2\"}");
        sameAsQemuImg("info", "json:{\"driver\":\"qcow2\",\"file.filename\":\"folder\"}");
    }

    @Test
    void otherCommands() {
        sameAsQemuImg("map", "--image-opts", "driver=qcow2,file.filename=top.qcow2");
        sameAsQemuImg("map", "--output=json", "json:{\"file.filename\":\"top.qcow2\",\"backing\":null}");
        sameAsQemuImg("check", "--image-opts", "driver=qcow2,file.filename=top.qcow2");
        sameAsQemuImg("check", "file:a:b.qcow2");
        sameAsQemuImg("compare", "--image-opts", "driver=qcow2,file.filename=top.qcow2",
                "driver=qcow2,file.filename=base.qcow2");
        sameAsQemuImg("compare", "file:a:b.qcow2", "json:{\"driver\":\"qcow2\",\"file.filename\":\"top.qcow2\"}");
        sameAsQemuImg("create", "-f", "qcow2", "x:y.qcow2", "1M");
        sameAsQemuImg("create", "-f", "qcow2", "json:{\"driver\":\"file\",\"filename\":\"j.qcow2\"}", "1M");
    }

    @Test
    void createWithFilePrefix() throws Exception {
        Qemu.Result q = Qemu.img(dir, "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "file:q:1.qcow2");
        Cli.Result m = Cli.runIn(dir, "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "file:m:1.qcow2");
        assertThat(m.exitCode()).as(m.err()).isZero();
        assertThat(m.out()).isEqualTo(q.out().replace("q:1", "m:1"));
        assertThat(Files.readAllBytes(dir.resolve("m:1.qcow2"))).isEqualTo(Files.readAllBytes(dir.resolve("q:1.qcow2")));
        sameAsQemuImg("create", "-f", "qcow2", "-b", "x:base.qcow2", "-F", "qcow2", "j4.qcow2");
    }

    @Test
    void amendWithImageOpts() throws Exception {
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "q.qcow2", "1M");
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "m.qcow2", "1M");
        Qemu.imgOk(dir, "amend", "-o", "compat=0.10", "--image-opts",
                "driver=qcow2,file.filename=q.qcow2,l2-cache-entry-size=4096");
        Cli.Result m = Cli.runIn(dir, "amend", "-o", "compat=0.10", "--image-opts",
                "driver=qcow2,file.filename=m.qcow2,l2-cache-entry-size=4096");
        assertThat(m.exitCode()).as(m.err()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("m.qcow2"))).isEqualTo(Files.readAllBytes(dir.resolve("q.qcow2")));
    }

    @Test
    void qemuIoOpenOptions() throws Exception {
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "foo.qcow2");
        // a backing format extension naming a driver that does not exist (iotest 114): backing.driver overrides it
        byte[] img = Files.readAllBytes(dir.resolve("foo.qcow2"));
        String s = new String(img, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = s.indexOf("qcow2", 0x68);
        img[at] = 'f';
        img[at + 1] = 'o';
        img[at + 2] = 'o';
        img[at + 3] = 0;
        img[at + 4] = 0;
        java.nio.ByteBuffer.wrap(img).putInt(at - 4, 3);
        Files.write(dir.resolve("foo.qcow2"), img);
        sameAsQemuIo("-c", "open foo.qcow2", "-c", "read -q 0 4k");
        sameAsQemuIo("-c", "open -o backing.driver=qcow2 foo.qcow2", "-c", "read -q -P 42 0 4k");
        sameAsQemuIo("-c", "read -q -P 0 0 512",
                "json:{'driver':'qcow2','file':{'driver':'file','filename':'top.qcow2'},'backing':null}");
        sameAsQemuIo("-c", "open -o driver=qcow2 json:{\"driver\":\"raw\",\"file.filename\":\"top.qcow2\"}",
                "-c", "info");
        sameAsQemuIo("-c", "open -o driver=qcow2 json:{\"file.filename\":\"top.qcow2\"}", "-c", "info");
        sameAsQemuIo("-c", "open -o driver=qcow2,foo=1 top.qcow2");
        sameAsQemuIo("-c", "open -r -o driver=file,filename=folder");
        sameAsQemuIo("-c", "open -o driver=file,filename=folder");
        sameAsQemuIo("-c", "open -r -o driver=host_device,filename=folder");
        sameAsQemuIo("-c", "open -o driver=host_cdrom,filename=folder");
        sameAsQemuIo("-c", "open -r -o driver=file,filename=/dev/null,locking=off");
        sameAsQemuIo("-c", "open -o driver=file,filename=top.qcow2", "-c", "read -q -P 0x51 0 1");
    }

    @Test
    void aQcow2ImageInsideAnother() throws Exception {
        // iotest 072: the outer image's file is the inner image's guest data
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "inner.base", "4M");
        Qemu.ioOk(dir, "inner.base", "write -P 42 0 512", "write -P 23 512 512");
        Qemu.imgOk(dir, "convert", "-f", "raw", "-O", "qcow2", "inner.base", "nested.qcow2");
        sameAsQemuIo("-c", "open -o driver=qcow2,file.driver=qcow2,file.file.filename=nested.qcow2",
                "-c", "read -q -P 42 0 512", "-c", "read -q -P 23 512 512", "-c", "write -q -P 7 4096 512");
        sameAsQemuIo("-c", "read -q -P 7 4096 512",
                "json:{'driver':'qcow2','file':{'driver':'qcow2','file':{'filename':'nested.qcow2'}}}");
        sameAsQemuIo("-c", "read -q -P 42 0 512", "nested.qcow2");
        Qemu.Result q = Qemu.img(dir, "check", "nested.qcow2");
        assertThat(q.exitCode()).as(q.out()).isZero();
        assertThat(Cli.runIn(dir, "info", "json:{'driver':'qcow2','file':{'driver':'qcow2','file.filename':'x'}}")
                .err()).contains("does not support the driver 'qcow2' as the file of an image");
    }

    @Test
    void backingNamesAnImageHolds() throws Exception {
        // json: and file: backing names that name a local image are followed as qemu-img follows them
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-b", "json:{\"driver\":\"qcow2\",\"file.filename\":\"base.qcow2\"}",
                "-F", "qcow2", "jtop.qcow2");
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-b", "file:base.qcow2", "-F", "qcow2", "ftop.qcow2");
        for (String top : new String[] {"jtop.qcow2", "ftop.qcow2"}) {
            sameAsQemuImg("map", "--output=json", top);
            sameAsQemuImg("compare", top, "base.qcow2");
            sameAsQemuImg("check", top);
            sameAsQemuIo("-c", "read -q -P 42 0 64k", top);
        }
        // anything more is not followed: q2 opens no protocol or driver an image names
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-u", "-b",
                "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"nbd\",\"host\":\"localhost\"}}", "-F", "qcow2",
                "-o", "size=1M", "ntop.qcow2");
        for (String[] args : new String[][] {{"map", "ntop.qcow2"}, {"compare", "ntop.qcow2", "base.qcow2"},
                {"io", "-c", "read 0 512", "ntop.qcow2"}, {"info", "--backing-chain", "ntop.qcow2"}}) {
            Cli.Result r = Cli.runIn(dir, args);
            assertThat(r.exitCode()).as(String.join(" ", args)).isNotZero();
            assertThat(r.err()).as(String.join(" ", args)).contains("q2 does not follow the backing file name 'json:");
        }
    }
}
