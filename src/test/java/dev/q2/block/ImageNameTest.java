package dev.q2.block;

import dev.q2.image.ImageException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What block.ImageName makes of the names and options users give (the differential test checks the wording). */
class ImageNameTest {
    @Test
    void plainAndFilePrefix() throws Exception {
        assertThat(ImageName.parse("d/x.qcow2")).isEqualTo(new ImageName("d/x.qcow2", null, References.ALL));
        assertThat(ImageName.parse("/a:b/x.qcow2").filename()).isEqualTo("/a:b/x.qcow2");
        assertThat(ImageName.parse("file:x.qcow2").filename()).isEqualTo("x.qcow2");
        assertThat(ImageName.parse("file:a:b.qcow2").filename()).isEqualTo("./a:b.qcow2");
        assertThat(ImageName.parse("file:/a:b.qcow2").filename()).isEqualTo("/a:b.qcow2");
        assertThatThrownBy(() -> ImageName.parse("x:y")).hasMessage("Unknown protocol 'x'");
        assertThatThrownBy(() -> ImageName.parse("nbd:localhost:10809"))
                .hasMessageStartingWith("q2 does not support the block driver 'nbd'");
    }

    @Test
    void optionsDictionaries() throws Exception {
        ImageName n = ImageName.imageOpts("driver=qcow2,file.filename=a,,b,backing.driver=raw,"
                + "data-file.filename=d,l2-cache-size=1M,file.locking=off,force-share=on,read-only=on");
        assertThat(n.filename()).isEqualTo("a,b");
        assertThat(n.format()).isEqualTo("qcow2");
        assertThat(n.backingFormat()).isEqualTo("raw");
        assertThat(n.dataFile()).isEqualTo("d");
        assertThat(n.options()).containsEntry("l2-cache-size", "1M").containsEntry("file.locking", "off");
        assertThat(n.flag("force-share")).isTrue();
        assertThat(n.flag("read-only")).isTrue();
        assertThat(n.format("raw")).isEqualTo("raw");
        assertThat(ImageName.imageOpts("file.filename=a,backing=").references()).isEqualTo(References.NO_BACKING);
        assertThat(ImageName.parse("json:{\"driver\":\"file\",\"filename\":\"f\"}").format()).isEqualTo("file");
        // options given directly win over the json: name's, and a plain name is the file of the options' driver
        assertThat(ImageName.parse("json:{\"driver\":\"raw\",\"file.filename\":\"x\"}", Map.of("driver", "qcow2"))
                .format()).isEqualTo("qcow2");
        assertThat(ImageName.parse("x", Map.of("driver", "file")).filename()).isEqualTo("x");
        assertThat(ImageName.parse(null, Map.of("driver", "qcow2", "file.filename", "x")).filename()).isEqualTo("x");
        assertThat(ImageName.parse("json:{\"driver\":\"raw\",\"file.filename\":\"x\",\"backing\":null}")
                .references()).isEqualTo(References.NO_BACKING);
    }

    @Test
    void keySecretIsKeptForTheCommandsThatOpenWithKeys() throws Exception {
        ImageName n = ImageName.imageOpts("driver=qcow2,file.filename=e.qcow2,encrypt.key-secret=sec0");
        assertThat(n.keySecret()).isEqualTo("sec0");
        assertThat(ImageName.parse("e.qcow2").keySecret()).isNull();
    }

    @Test
    void formatNodeAsAFile() throws Exception {
        ImageName n = ImageName.parse("json:{'driver':'qcow2','file':{'driver':'qcow2','file':{'filename':'a'}}}");
        assertThat(n.nested()).isEqualTo(new ImageName("a", "qcow2", References.ALL));
        assertThat(n.filename()).isEqualTo("a");
        assertThat(ImageName.parse(null, Map.of("driver", "qcow2", "file.driver", "raw", "file.file.filename", "b"))
                .nested().format()).isEqualTo("raw");
    }

    @Test
    void refusals() {
        String[][] cases = {
            {"json:{\"file.filename\":\"a\",\"lazy-refcounts\":\"on\"}",
                "Block format 'qcow2' does not support the option 'lazy-refcounts' (q2 does not implement it)"},
            {"json:{\"file.filename\":\"a\",\"encrypt.format\":\"luks\"}",
                "Block format 'qcow2' does not support the option 'encrypt.format' (q2 does not implement it)"},
            {"json:{\"file.filename\":\"a\",\"bogus\":1}", "Block format 'qcow2' does not support the option 'bogus'"},
            {"json:{\"file.filename\":\"a\",\"file.bogus\":1}",
                "Block protocol 'file' doesn't support the option 'bogus'"},
            {"json:{\"file.filename\":\"a\",\"file.pr-manager\":\"x\"}",
                "Block protocol 'file' doesn't support the option 'pr-manager' (q2 does not implement it)"},
            {"json:{\"file.filename\":\"a\",\"read-only\":\"yes\"}", "Parameter 'read-only' expects 'on' or 'off'"},
            {"json:{\"file.filename\":\"a\",\"detect-zeroes\":\"on\"}", "(q2 does not implement it)"},
            {"json:{\"file.filename\":\"a\",\"backing.file.locking\":\"off\"}",
                "does not support the option 'backing.file.locking' (q2 does not implement it)"},
            {"json:{\"file.filename\":\"a\",\"backing.backing.encrypt.key-secret\":\"s\"}",
                "does not support the option 'backing.backing.encrypt.key-secret' (q2 does not implement it)"},
            {"json:{\"file.filename\":\"a\",\"backing\":\"node0\"}", "Cannot find device='node0' nor node-name='node0'"},
            {"json:{\"driver\":\"raw\",\"file.filename\":\"a\",\"offset\":512}", "'offset' (q2 does not implement it)"},
            {"json:{\"driver\":\"raw\",\"file.filename\":\"a\",\"backing.driver\":\"raw\"}",
                "Block format 'raw' does not support the option 'backing.driver'"},
            {"json:{\"driver\":\"blkdebug\",\"image.filename\":\"a\"}", "the block driver 'blkdebug'"},
            {"json:{\"driver\":\"null-co\"}", "the block driver 'null-co'"},
            {"json:{\"file.driver\":\"http\",\"file.filename\":\"http://x\"}", "the block driver 'http'"},
            {"json:{\"driver\":\"qcow2\",\"file.filename\":\"a\",\"backing.driver\":\"vmdk\"}", "'vmdk'"},
            {"json:{\"driver\":\"file\"}", "The 'file' block driver requires a file name"},
            {"json:{\"file.driver\":\"file\"}", "The 'file' block driver requires a file name"},
            {"json:{\"file.filename\":null}", "A block device must be specified for \"file\""},
            {"json:{\"file.filename\":\"a\",\"node-name\":null}", "Invalid parameter type for 'node-name'"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> ImageName.parse(c[0])).as(c[0]).isInstanceOf(ImageException.class)
                    .hasMessageContaining(c[1]);
        }
    }

    @Test
    void keysAndTheBackingFileAreKeptForTheCommandsThatHonourThem() throws ImageException {
        ImageName n = ImageName.imageOpts("driver=qcow2,file.filename=top.qcow2,encrypt.key-secret=sec1,"
                + "backing.driver=qcow2,backing.file.filename=base.qcow2,backing.encrypt.key-secret=sec0");
        assertThat(n.keySecret()).isEqualTo("sec1");
        assertThat(n.backingKeySecret()).isEqualTo("sec0");
        assertThat(n.backingFilename()).isEqualTo("base.qcow2");
        assertThat(n.backingFormat()).isEqualTo("qcow2");
        assertThat(n.plain()).isFalse();
    }

    @Test
    void anImageNamedWithAKeyHasQemusJsonName() throws ImageException {
        // as qemu-img 7.2 info shows it (EncryptedChainKeysDifferentialTest pins it against qemu-img)
        assertThat(ImageName.imageOpts("file.filename=d/a\"b,,c.qcow2,encrypt.key-secret=s0,l2-cache-size=1M")
                .refreshedFilename("qcow2")).isEqualTo("json:{\"encrypt.key-secret\": \"s0\", \"driver\": \"qcow2\","
                + " \"file\": {\"driver\": \"file\", \"filename\": \"d/a\\\"b,c.qcow2\"}}");
        assertThat(ImageName.imageOpts("driver=qcow2,file.filename=a.qcow2,l2-cache-size=1M")
                .refreshedFilename("qcow2")).isNull();
    }
}
