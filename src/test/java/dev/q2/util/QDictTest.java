package dev.q2.util;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** QDict iterates in QEMU's bucket order; the orders below are those qemu-img 7.2 prints. */
class QDictTest {
    @Test
    void imageInfoKeysComeOutInQemuImgOrder() {
        QDict d = new QDict();
        for (String k : List.of("filename", "format", "dirty-flag", "actual-size", "virtual-size", "cluster-size",
                "backing-filename", "full-backing-filename", "backing-filename-format", "snapshots",
                "format-specific")) {
            d.put(k, 1);
        }
        assertThat(d.keys()).containsExactly("backing-filename-format", "snapshots", "virtual-size", "filename",
                "cluster-size", "format", "actual-size", "format-specific", "full-backing-filename",
                "backing-filename", "dirty-flag");
    }

    @Test
    void qcow2SpecificKeysComeOutInQemuImgOrder() {
        QDict d = new QDict();
        for (String k : List.of("compat", "data-file", "data-file-raw", "extended-l2", "lazy-refcounts", "corrupt",
                "refcount-bits", "bitmaps", "compression-type")) {
            d.put(k, 1);
        }
        assertThat(d.keys()).containsExactly("compat", "compression-type", "lazy-refcounts", "bitmaps",
                "refcount-bits", "data-file", "data-file-raw", "corrupt", "extended-l2");
    }

    @Test
    void trailingKeysFollowInInsertionOrderAndNullsAreLeftOut() {
        QDict d = new QDict().put("format", "qcow2").put("absent", null).putTrailing("z", 1).putTrailing("a", 2);
        assertThat(d.keys()).containsExactly("format", "z", "a");
    }

    @Test
    void prettyJsonBreaksEmptyContainersLikeQemu() {
        QDict d = new QDict().put("flags", List.of()).put("name", "a\"b\u00e9");
        assertThat(QJson.pretty(d)).isEqualTo("{\n    \"flags\": [\n    ],\n    \"name\": \"a\\\"b\\u00E9\"\n}");
    }
}
