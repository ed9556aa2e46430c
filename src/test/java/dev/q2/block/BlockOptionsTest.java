package dev.q2.block;

import dev.q2.image.ImageException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** QemuOpts text and json: objects read into one flat dictionary, as QEMU's block layer flattens them. */
class BlockOptionsTest {
    @Test
    void qemuOpts() throws Exception {
        assertThat(BlockOptions.fromQemuOpts("driver=qcow2,file.filename=a,,b.qcow2", "file"))
                .containsExactly(Map.entry("driver", "qcow2"), Map.entry("file.filename", "a,b.qcow2"));
        // a first word without '=' is the implied key; later ones are flags; the last of a repeated key wins
        assertThat(BlockOptions.fromQemuOpts("x.qcow2,read-only,driver=raw,driver=qcow2", "file"))
                .containsExactly(Map.entry("file", "x.qcow2"), Map.entry("read-only", "on"),
                        Map.entry("driver", "qcow2"));
        assertThat(BlockOptions.fromQemuOpts("read-only", null)).containsExactly(Map.entry("read-only", "on"));
        assertThat(BlockOptions.fromQemuOpts("", "file")).isEmpty();
        assertThat(BlockOptions.fromQemuOpts("a=1,", null)).containsExactly(Map.entry("a", "1"));
        assertThat(BlockOptions.fromQemuOpts("backing=", null)).containsExactly(Map.entry("backing", ""));
        assertThat(BlockOptions.fromQemuOpts("a=x=y", null)).containsExactly(Map.entry("a", "x=y"));
        assertThatThrownBy(() -> BlockOptions.fromQemuOpts("=1", null)).isInstanceOf(ImageException.class)
                .hasMessage("Invalid parameter ''");
        assertThat(BlockOptions.fromQemuOpts("a=1,,,", null)).containsExactly(Map.entry("a", "1,"));
    }

    @Test
    void jsonIsFlattened() throws Exception {
        Map<String, String> m = BlockOptions.fromJson("{'driver': 'qcow2', 'file': {'driver': 'file',"
                + " 'filename': 'a\"b'}, 'backing': null, 'n': 5, 'b': true, 'l': [1, {'x': false}]}");
        assertThat(m).containsEntry("driver", "qcow2").containsEntry("file.driver", "file")
                .containsEntry("file.filename", "a\"b").containsEntry("backing", null).containsEntry("n", "5")
                .containsEntry("b", "on").containsEntry("l.0", "1").containsEntry("l.1.x", "off");
        // a nested key wins over the same key given flattened, whatever the order (qdict_flatten)
        assertThat(BlockOptions.fromJson("{\"file\":{\"filename\":\"a\"},\"file.filename\":\"b\"}"))
                .containsEntry("file.filename", "a");
        assertThat(BlockOptions.fromJson("{\"file.filename\":\"b\",\"file\":{\"filename\":\"a\"}}"))
                .containsEntry("file.filename", "a");
        assertThatThrownBy(() -> BlockOptions.fromJson("[1]")).hasMessage("Invalid JSON object given");
        assertThatThrownBy(() -> BlockOptions.fromJson("{")).hasMessageStartingWith(
                "Could not parse the JSON options: JSON parse error");
    }

    @Test
    void manyKeysAreRefused() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i <= BlockOptions.MAX_KEYS; i++) {
            b.append('k').append(i).append("=1,");
        }
        assertThatThrownBy(() -> BlockOptions.fromQemuOpts(b.toString(), null)).hasMessage("Too many block options");
    }
}
