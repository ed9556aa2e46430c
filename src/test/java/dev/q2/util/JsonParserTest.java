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
    void malformedInputIsRefusedInQemusWords() {
        String[][] cases = {{"", "Expecting a JSON value"}, {"  ", "Expecting a JSON value"},
            {"{", "JSON parse error, premature EOI"}, {"{\"a\"}", "JSON parse error, missing : in object pair"},
            {"{\"a\":1,}", "JSON parse error, expecting value"}, {"[1,]", "JSON parse error, expecting value"},
            {"[1 2]", "JSON parse error, expected separator in list"},
            {"{\"a\":1 \"b\":2}", "JSON parse error, expected separator in dict"},
            {"{\"a\":1}x", "Expecting at most one JSON value"}, {"1 2", "Expecting at most one JSON value"},
            {"tru", "JSON parse error, invalid keyword 'tru'"}, {"01x", "JSON parse error, stray '01'"},
            {"-", "JSON parse error, stray '-'"}, {"1.", "JSON parse error, stray '1.'"},
            {"1e}", "JSON parse error, stray '1e}'"}, {"\"abc", "JSON parse error, stray '\"abc'"},
            {"\"\\x\"", "JSON parse error, invalid escape sequence in string"},
            {"\"\\u12\"", "JSON parse error, \\u12\" is not a valid Unicode character"},
            {"\"\\uD800x\"", "JSON parse error, \\uD800 is not a valid Unicode character"},
            {"\"\u0001\"", "JSON parse error, stray '\"\u0001'"}, {"True", "JSON parse error, stray 'T'"},
            {"{\"a\":1,\"a\":2}", "JSON parse error, duplicate key"},
            {"{1:2}", "JSON parse error, key is not a string in object"}, {"}", "JSON parse error, expecting value"}};
        for (String[] c : cases) {
            assertThatThrownBy(() -> JsonParser.parse(c[0])).as(c[0]).isInstanceOf(JsonParser.JsonException.class)
                    .hasMessage(c[1]);
        }
    }

    @Test
    void textEndsAtNul() throws Exception {
        assertThat(JsonParser.parse("[1]\0garbage")).isEqualTo(List.of(1L));
    }

    @Test
    void nestingIsBounded() throws Exception {
        String ok = "[".repeat(JsonParser.MAX_NESTING) + "]".repeat(JsonParser.MAX_NESTING);
        assertThat(JsonParser.parse(ok)).isInstanceOf(List.class);
        char[] deep = new char[100_000];
        Arrays.fill(deep, '[');
        assertThatThrownBy(() -> JsonParser.parse(new String(deep))).hasMessage("JSON nesting depth limit exceeded");
        assertThatThrownBy(() -> JsonParser.parse("{\"a\":" .repeat(1100) + "1" + "}".repeat(1100)))
                .hasMessage("JSON nesting depth limit exceeded");
    }
}
