package dev.q2.util;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON reader for the small documents q2 is given on its command line ({@code json:} filenames), with the
 * one extension QEMU's parser has that iotests use, strings in single quotes ({@code 'a'}, {@code \'} escaped): objects
 * (as {@link LinkedHashMap}, keys in order, a JSON {@code null} kept as a null value), arrays ({@link List}),
 * strings, numbers (as {@link Long} when integral and in range, else {@link Double}), booleans. Nesting is limited
 * to {@value #MAX_DEPTH} levels, so hostile input costs time and memory linear in its length.
 */
public final class JsonParser {
    /** The deepest nesting accepted. */
    public static final int MAX_DEPTH = 32;

    private final String s;
    private int pos;

    private JsonParser(String s) {
        this.s = s;
    }

    /** The text cannot be read as JSON; the message says where and why. */
    public static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    /**
     * Parses one JSON value that makes up all of {@code text} (white space around it allowed).
     *
     * @param text the JSON text
     * @return the value (Map, List, String, Long, Double, Boolean, or null)
     * @throws JsonException when the text is not one well-formed JSON value
     */
    public static Object parse(String text) throws JsonException {
        JsonParser p = new JsonParser(text);
        p.skipSpace();
        Object v = p.value(0);
        p.skipSpace();
        if (p.pos != text.length()) {
            throw p.error("unexpected '" + text.charAt(p.pos) + "' after the value");
        }
        return v;
    }

    private JsonException error(String what) {
        return new JsonException("JSON parse error at offset " + pos + ": " + what);
    }

    private void skipSpace() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private Object value(int depth) throws JsonException {
        if (pos >= s.length()) {
            throw error("unexpected end of input");
        }
        char c = s.charAt(pos);
        if ((c == '{' || c == '[') && depth >= MAX_DEPTH) {
            throw error("nested too deeply");
        }
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"', '\'':
                return string();
            case 't':
                return keyword("true", Boolean.TRUE);
            case 'f':
                return keyword("false", Boolean.FALSE);
            case 'n':
                return keyword("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("invalid character '" + c + "'");
        }
    }

    private Object keyword(String word, Object value) throws JsonException {
        if (!s.startsWith(word, pos)) {
            throw error("invalid keyword");
        }
        pos += word.length();
        return value;
    }

    /** After an opening bracket: true (and past it) when {@code close} follows at once. */
    private boolean empty(char close) {
        pos++;
        skipSpace();
        if (pos < s.length() && s.charAt(pos) == close) {
            pos++;
            return true;
        }
        return false;
    }

    /** After an element: true (and past the comma) when another follows, false (and past {@code close}) at the end. */
    private boolean more(char close) throws JsonException {
        skipSpace();
        if (pos < s.length() && s.charAt(pos) == ',') {
            pos++;
            skipSpace();
            return true;
        }
        expect(close);
        return false;
    }

    private Map<String, Object> object(int depth) throws JsonException {
        Map<String, Object> m = new LinkedHashMap<>();
        if (empty('}')) {
            return m;
        }
        do {
            if (pos >= s.length() || (s.charAt(pos) != '"' && s.charAt(pos) != '\'')) {
                throw error("expected a key string");
            }
            String key = string();
            skipSpace();
            expect(':');
            skipSpace();
            if (m.containsKey(key)) {
                throw error("duplicate key '" + key + "'");
            }
            m.put(key, value(depth));
        } while (more('}'));
        return m;
    }

    private List<Object> array(int depth) throws JsonException {
        List<Object> l = new ArrayList<>();
        if (!empty(']')) {
            do {
                l.add(value(depth));
            } while (more(']'));
        }
        return l;
    }

    private void expect(char c) throws JsonException {
        if (pos >= s.length() || s.charAt(pos) != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private String string() throws JsonException {
        char quote = s.charAt(pos++); // QEMU's parser takes 'single-quoted' strings too
        StringBuilder b = new StringBuilder();
        while (pos < s.length()) {
            char c = s.charAt(pos++);
            if (c == quote) {
                return b.toString();
            }
            if (c < 0x20) {
                throw error("control character in a string");
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= s.length()) {
                break;
            }
            char e = s.charAt(pos++);
            switch (e) {
                case '"', '\'', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (pos + 4 > s.length()) {
                        throw error("short \\u escape");
                    }
                    int cp = 0;
                    for (int i = 0; i < 4; i++) {
                        int d = Character.digit(s.charAt(pos++), 16);
                        if (d < 0) {
                            throw error("bad \\u escape");
                        }
                        cp = cp * 16 + d;
                    }
                    b.append((char) cp);
                }
                default -> throw error("bad escape '\\" + e + "'");
            }
        }
        throw error("unterminated string");
    }

    private Object number() throws JsonException {
        int start = pos;
        if (s.charAt(pos) == '-') {
            pos++;
        }
        int digits = digits();
        if (digits == 0) {
            throw error("bad number");
        }
        boolean integral = true;
        if (pos < s.length() && s.charAt(pos) == '.') {
            pos++;
            integral = false;
            if (digits() == 0) {
                throw error("bad number");
            }
        }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            pos++;
            integral = false;
            if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                pos++;
            }
            if (digits() == 0) {
                throw error("bad number");
            }
        }
        String t = s.substring(start, pos);
        if (integral) {
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException e) {
                // too large for a long: as a double, like QEMU's parser
            }
        }
        return Double.parseDouble(t);
    }

    private int digits() {
        int n = 0;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
            pos++;
            n++;
        }
        return n;
    }
}
