package dev.q2.util;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonParserTest {
    @Test
    void values() throws Exception {
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("driver", "qcow2");
        expected.put("file", Map.of("filename", "a \"b\"\n\u00e9/"));
        expected.put("backing", null);
        expected.put("n", List.of(1L, -2L, 2.5, 1e3, true, false));
        expected.put("big", 1e20);
        Object v = JsonParser.parse(" {\"driver\": \"qcow2\", \"file\": {\"filename\": \"a \\\"b\\\"\\n\\u00e9\\/\"},"
                + "\"backing\":null, \"n\": [1, -2, 2.5, 1e3, true, false], \"big\": 100000000000000000000}\n");
        assertThat(v).isEqualTo(expected);
        assertThat(JsonParser.parse("[]")).isEqualTo(List.of());
        assertThat(JsonParser.parse("{}")).isEqualTo(Map.of());
        assertThat(JsonParser.parse("[[], {}]")).isEqualTo(List.of(List.of(), Map.of()));
    }

    @Test
    void malformedInputIsRefusedWithWhereAndWhy() {
        for (String bad : new String[] {"", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\":1}x", "tru", "nul",
            "01x", "-", "1.", "1e", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\u0001\"", "{\"a\":1,\"a\":2}", "{1:2}"}) {
            assertThatThrownBy(() -> JsonParser.parse(bad)).as(bad).isInstanceOf(JsonParser.JsonException.class)
                    .hasMessageStartingWith("JSON parse error at offset ");
        }
    }

    @Test
    void nestingIsBounded() throws Exception {
        String ok = "[".repeat(JsonParser.MAX_DEPTH) + "]".repeat(JsonParser.MAX_DEPTH);
        assertThat(JsonParser.parse(ok)).isInstanceOf(List.class);
        char[] deep = new char[100_000];
        Arrays.fill(deep, '[');
        assertThatThrownBy(() -> JsonParser.parse(new String(deep))).hasMessageContaining("nested too deeply");
        assertThatThrownBy(() -> JsonParser.parse("{\"a\":" .repeat(40) + "1" + "}".repeat(40)))
                .hasMessageContaining("nested too deeply");
    }
}
