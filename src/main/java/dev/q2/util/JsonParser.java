package dev.q2.util;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JSON reader for the small documents q2 is given on its command line ({@code json:} filenames) that accepts what
 * QEMU's JSON parser accepts and refuses the rest with its words ({@code JSON parse error, stray '1e}'}, {@code ...,
 * premature EOI}, {@code Expecting a JSON value}). Like QEMU's it has three stages: a lexer over the UTF-8 bytes of
 * the text (any escape and any non-control character in strings, strings in single quotes too, keywords as
 * {@code [a-z]+}; after a bad token it skips to the next structural character), a stage that gathers the tokens of
 * one value by counting brackets and braces (and enforces the limits: nesting {@value #MAX_NESTING}), and a parser
 * that reads a value from them; the text must hold exactly one value. The text ends at a NUL, as a C string does.
 *
 * <p>Values: objects as {@link LinkedHashMap} (keys in order, a JSON {@code null} kept as a null value), arrays as
 * {@link List}, strings, numbers ({@link Long} when integral and in range, else {@link Double}), booleans. Time and
 * memory are linear in the length of the text; recursion is bounded by the nesting limit.
 */
public final class JsonParser {
    /** The deepest nesting accepted (QEMU's MAX_NESTING: braces and brackets open at once). */
    public static final int MAX_NESTING = 1024;
    /** QEMU's limit on the tokens of one value. */
    static final int MAX_TOKEN_COUNT = 2 << 20;
    /** QEMU's limit on the bytes of the tokens of one value. */
    static final long MAX_TOKEN_SIZE = 64L << 20;

    /** The text cannot be read as JSON; the message is QEMU's. */
    public static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    // ---- tokens ----------------------------------------------------------------------------------------------------

    private enum Type { LCURLY, RCURLY, LSQUARE, RSQUARE, COLON, COMMA, INTEGER, FLOAT, KEYWORD, STRING }

    private record Token(Type type, byte[] text) {
        String string() {
            return new String(text, StandardCharsets.UTF_8);
        }
    }

    // ---- lexer states and results ------------------------------------------------------------------------------------

    private static final int ERROR = 0;
    private static final int RECOVERY = 1;
    private static final int DQ_STRING_ESCAPE = 2;
    private static final int DQ_STRING = 3;
    private static final int SQ_STRING_ESCAPE = 4;
    private static final int SQ_STRING = 5;
    private static final int ZERO = 6;
    private static final int EXP_DIGITS = 7;
    private static final int EXP_SIGN = 8;
    private static final int EXP_E = 9;
    private static final int MANTISSA = 10;
    private static final int MANTISSA_DIGITS = 11;
    private static final int DIGITS = 12;
    private static final int SIGN = 13;
    private static final int KEYWORD = 14;
    private static final int START = 15;
    /** A complete token: TOKEN + its Type's ordinal. */
    private static final int TOKEN = 32;
    /** The transition does not consume the character: it ends the token before it. */
    private static final int LOOKAHEAD = 0x100;

    /** A null value inside the parser (null itself means "no value": an error was recorded). */
    private static final Object NULL = new Object();

    private final byte[] in;
    private int state = START;
    private final ByteBuilder token = new ByteBuilder();
    // the gathering stage
    private int braces;
    private int brackets;
    private long tokenBytes;
    private final ArrayDeque<Token> tokens = new ArrayDeque<>();
    // what the whole text amounts to so far
    private Object result;
    private String error;
    // the parser's first error for the value it reads
    private String parseError;

    private JsonParser(byte[] in) {
        this.in = in;
    }

    /**
     * Parses the one JSON value that makes up {@code text} (white space around it allowed).
     *
     * @param text the JSON text (read up to its first NUL character)
     * @return the value (Map, List, String, Long, Double, Boolean, or null)
     * @throws JsonException with QEMU's words when the text is not one well-formed JSON value
     */
    public static Object parse(String text) throws JsonException {
        int nul = text.indexOf('\0');
        JsonParser p = new JsonParser((nul < 0 ? text : text.substring(0, nul)).getBytes(StandardCharsets.UTF_8));
        return p.run();
    }

    private Object run() throws JsonException {
        for (int i = 0; i < in.length && error == null; i++) {
            feed(in[i] & 0xff, false);
        }
        if (error == null) {
            feed(0, true);
            endOfInput();
        }
        if (error != null) {
            throw new JsonException(error);
        }
        if (result == null) {
            throw new JsonException("Expecting a JSON value");
        }
        return result == NULL ? null : result;
    }

    // ---- lexer -------------------------------------------------------------------------------------------------------

    private static boolean digit(int c) {
        return c >= '0' && c <= '9';
    }

    private static boolean structural(int c) {
        return c == '[' || c == ']' || c == '{' || c == '}' || c == ':' || c == ',';
    }

    /** The transition from {@code s} on byte {@code c}: a state, TOKEN + type, or ERROR; LOOKAHEAD or'ed in. */
    private static int next(int s, int c) {
        switch (s) {
            case RECOVERY:
                if (c == '\t' || (c >= 0x20 && c <= 0xfd && !structural(c))) {
                    return RECOVERY;
                }
                return START | LOOKAHEAD;
            case DQ_STRING_ESCAPE:
                return c >= 0x20 && c <= 0xfd ? DQ_STRING : ERROR;
            case SQ_STRING_ESCAPE:
                return c >= 0x20 && c <= 0xfd ? SQ_STRING : ERROR;
            case DQ_STRING:
            case SQ_STRING: {
                int quote = s == DQ_STRING ? '"' : '\'';
                if (c == quote) {
                    return TOKEN + Type.STRING.ordinal();
                }
                if (c == '\\') {
                    return s - 1; // the escape state before each string state
                }
                return c >= 0x20 && c <= 0xfd ? s : ERROR;
            }
            case ZERO:
                if (digit(c)) {
                    return ERROR;
                }
                return c == '.' ? MANTISSA : TOKEN + Type.INTEGER.ordinal() | LOOKAHEAD;
            case EXP_DIGITS:
                return digit(c) ? EXP_DIGITS : TOKEN + Type.FLOAT.ordinal() | LOOKAHEAD;
            case EXP_SIGN:
                return digit(c) ? EXP_DIGITS : ERROR;
            case EXP_E:
                if (c == '-' || c == '+') {
                    return EXP_SIGN;
                }
                return digit(c) ? EXP_DIGITS : ERROR;
            case MANTISSA_DIGITS:
                if (digit(c)) {
                    return MANTISSA_DIGITS;
                }
                return c == 'e' || c == 'E' ? EXP_E : TOKEN + Type.FLOAT.ordinal() | LOOKAHEAD;
            case MANTISSA:
                return digit(c) ? MANTISSA_DIGITS : ERROR;
            case DIGITS:
                if (digit(c)) {
                    return DIGITS;
                }
                if (c == 'e' || c == 'E') {
                    return EXP_E;
                }
                return c == '.' ? MANTISSA : TOKEN + Type.INTEGER.ordinal() | LOOKAHEAD;
            case SIGN:
                if (c == '0') {
                    return ZERO;
                }
                return c >= '1' && c <= '9' ? DIGITS : ERROR;
            case KEYWORD:
                return c >= 'a' && c <= 'z' ? KEYWORD : TOKEN + Type.KEYWORD.ordinal() | LOOKAHEAD;
            case START:
                switch (c) {
                    case '"':
                        return DQ_STRING;
                    case '\'':
                        return SQ_STRING;
                    case '0':
                        return ZERO;
                    case '-':
                        return SIGN;
                    case '{':
                        return TOKEN + Type.LCURLY.ordinal();
                    case '}':
                        return TOKEN + Type.RCURLY.ordinal();
                    case '[':
                        return TOKEN + Type.LSQUARE.ordinal();
                    case ']':
                        return TOKEN + Type.RSQUARE.ordinal();
                    case ',':
                        return TOKEN + Type.COMMA.ordinal();
                    case ':':
                        return TOKEN + Type.COLON.ordinal();
                    case ' ', '\t', '\r', '\n':
                        return START;
                    default:
                        if (c >= '1' && c <= '9') {
                            return DIGITS;
                        }
                        return c >= 'a' && c <= 'z' ? KEYWORD : ERROR;
                }
            default:
                throw new IllegalStateException("lexer state " + s);
        }
    }

    /** One byte of input ({@code flush}: the end of it, which only ends the token under way). */
    private void feed(int c, boolean flush) {
        boolean consumed = false;
        while (error == null && (flush ? state != START : !consumed)) {
            int n = next(state, c);
            consumed = !flush && (n & LOOKAHEAD) == 0;
            n &= ~LOOKAHEAD;
            if (consumed) {
                token.append(c);
            }
            if (n >= TOKEN) {
                process(Type.values()[n - TOKEN], token.toArray());
                token.clear();
                n = START;
            } else if (n == START) {
                token.clear();
            } else if (n == ERROR) {
                stray(token.toArray());
                token.clear();
                n = RECOVERY;
            } else if (n == RECOVERY) {
                token.clear();
            }
            state = n;
        }
    }

    // ---- gathering the tokens of one value -----------------------------------------------------------------------

    private void stray(byte[] text) {
        emit(null, "JSON parse error, stray '" + new String(text, StandardCharsets.UTF_8) + "'");
    }

    private void endOfInput() {
        if (!tokens.isEmpty()) {
            Object v = parseTokens();
            emit(v, parseError);
        }
    }

    private void process(Type type, byte[] text) {
        switch (type) {
            case LCURLY -> braces++;
            case RCURLY -> braces--;
            case LSQUARE -> brackets++;
            case RSQUARE -> brackets--;
            default -> {
            }
        }
        if (tokenBytes + text.length + 1 > MAX_TOKEN_SIZE) {
            emit(null, "JSON token size limit exceeded");
            return;
        }
        if (tokens.size() + 1 > MAX_TOKEN_COUNT) {
            emit(null, "JSON token count limit exceeded");
            return;
        }
        if (brackets + braces > MAX_NESTING) {
            emit(null, "JSON nesting depth limit exceeded");
            return;
        }
        tokens.add(new Token(type, text));
        tokenBytes += text.length;
        // (QEMU's test looks at the bracket count twice and never at a negative brace count: kept as it is)
        if ((braces > 0 || brackets > 0) && brackets >= 0) {
            return;
        }
        Object v = parseTokens();
        emit(v, parseError);
    }

    /** One value, or an error, for the whole text: a second value is an error, the first error is the answer. */
    private void emit(Object value, String err) {
        braces = 0;
        brackets = 0;
        tokens.clear();
        tokenBytes = 0;
        if (result != null) {
            result = null;
            error = "Expecting at most one JSON value";
        }
        if (error != null) {
            return;
        }
        result = value;
        error = err;
    }

    // ---- parser ----------------------------------------------------------------------------------------------------

    private Object parseTokens() {
        parseError = null;
        return value();
    }

    private void parseError(String what) {
        if (parseError == null) {
            parseError = "JSON parse error, " + what;
        }
    }

    private Object value() {
        Token t = tokens.peekFirst();
        if (t == null) {
            parseError("premature EOI");
            return null;
        }
        switch (t.type()) {
            case LCURLY:
                return object();
            case LSQUARE:
                return array();
            case INTEGER:
            case FLOAT:
            case STRING:
                return literal();
            case KEYWORD:
                return keyword();
            default:
                parseError("expecting value");
                return null;
        }
    }

    private boolean pair(Map<String, Object> dict) {
        if (tokens.peekFirst() == null) {
            parseError("premature EOI");
            return false;
        }
        Object key = value();
        if (!(key instanceof String k)) {
            parseError("key is not a string in object");
            return false;
        }
        Token t = tokens.pollFirst();
        if (t == null) {
            parseError("premature EOI");
            return false;
        }
        if (t.type() != Type.COLON) {
            parseError("missing : in object pair");
            return false;
        }
        Object v = value();
        if (v == null) {
            parseError("Missing value in dict");
            return false;
        }
        if (dict.containsKey(k)) {
            parseError("duplicate key");
            return false;
        }
        dict.put(k, v == NULL ? null : v);
        return true;
    }

    private Object object() {
        tokens.pollFirst(); // {
        Map<String, Object> dict = new LinkedHashMap<>();
        Token peek = tokens.peekFirst();
        if (peek == null) {
            parseError("premature EOI");
            return null;
        }
        if (peek.type() == Type.RCURLY) {
            tokens.pollFirst();
            return dict;
        }
        if (!pair(dict)) {
            return null;
        }
        Token t = tokens.pollFirst();
        while (true) {
            if (t == null) {
                parseError("premature EOI");
                return null;
            }
            if (t.type() == Type.RCURLY) {
                return dict;
            }
            if (t.type() != Type.COMMA) {
                parseError("expected separator in dict");
                return null;
            }
            if (!pair(dict)) {
                return null;
            }
            t = tokens.pollFirst();
        }
    }

    private Object array() {
        tokens.pollFirst(); // [
        List<Object> list = new ArrayList<>();
        Token peek = tokens.peekFirst();
        if (peek == null) {
            parseError("premature EOI");
            return null;
        }
        if (peek.type() == Type.RSQUARE) {
            tokens.pollFirst();
            return list;
        }
        while (true) {
            Object v = value();
            if (v == null) {
                parseError("expecting value");
                return null;
            }
            list.add(v == NULL ? null : v);
            Token t = tokens.pollFirst();
            if (t == null) {
                parseError("premature EOI");
                return null;
            }
            if (t.type() == Type.RSQUARE) {
                return list;
            }
            if (t.type() != Type.COMMA) {
                parseError("expected separator in list");
                return null;
            }
        }
    }

    private Object keyword() {
        String word = tokens.pollFirst().string();
        switch (word) {
            case "true":
                return Boolean.TRUE;
            case "false":
                return Boolean.FALSE;
            case "null":
                return NULL;
            default:
                parseError("invalid keyword '" + word + "'");
                return null;
        }
    }

    private Object literal() {
        Token t = tokens.pollFirst();
        if (t.type() == Type.STRING) {
            return string(t.text());
        }
        String s = t.string();
        if (t.type() == Type.INTEGER) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                // beyond a long: a double, as QEMU's parser makes one beyond its 64-bit integers
            }
        }
        return Double.parseDouble(s);
    }

    // ---- strings ---------------------------------------------------------------------------------------------------

    /** The value of four hex digits at {@code i}, or -1. */
    private static int hex4(byte[] b, int i) {
        int cp = 0;
        for (int k = 0; k < 4; k++) {
            int d = i + k < b.length ? Character.digit(b[i + k], 16) : -1;
            if (d < 0) {
                return -1;
            }
            cp = cp << 4 | d;
        }
        return cp;
    }

    /** QEMU's valid code points: in Unicode's range, no surrogates, no noncharacters. */
    private static boolean validCodePoint(int cp) {
        if (cp < 0 || cp > 0x10ffff) {
            return false;
        }
        if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe) {
            return false;
        }
        return cp < 0xd800 || cp > 0xdfff;
    }

    private String string(byte[] b) {
        byte quote = b[0];
        StringBuilder sb = new StringBuilder();
        int i = 1;
        while (b[i] != quote) {
            if (b[i] != '\\') {
                int[] end = new int[1];
                int cp = codePoint(b, i, end);
                if (!validCodePoint(cp)) {
                    parseError("invalid UTF-8 sequence in string");
                    return null;
                }
                sb.appendCodePoint(cp);
                i = end[0];
                continue;
            }
            int beg = i++;
            switch (b[i++]) {
                case '"' -> sb.append('"');
                case '\'' -> sb.append('\'');
                case '\\' -> sb.append('\\');
                case '/' -> sb.append('/');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    int cp = hex4(b, i);
                    i += 4;
                    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < b.length && b[i] == '\\' && b[i + 1] == 'u') {
                        int trailing = hex4(b, i + 2);
                        if (trailing >= 0xdc00 && trailing <= 0xdfff) {
                            cp = 0x10000 + ((cp & 0x3ff) << 10) | (trailing & 0x3ff);
                            i += 6;
                        } else {
                            cp = -1;
                        }
                    }
                    if (!validCodePoint(cp)) {
                        String seq = new String(b, beg, Math.min(i, b.length) - beg, StandardCharsets.UTF_8);
                        parseError(seq + " is not a valid Unicode character");
                        return null;
                    }
                    sb.appendCodePoint(cp);
                }
                default -> {
                    parseError("invalid escape sequence in string");
                    return null;
                }
            }
        }
        return sb.toString();
    }

    /** The UTF-8 sequence at {@code i} (QEMU's modified UTF-8: C0 80 is U+0000), its end in end[0]; -1 if invalid. */
    private static int codePoint(byte[] b, int i, int[] end) {
        int c = b[i] & 0xff;
        end[0] = i + 1;
        if (c < 0x80) {
            return c;
        }
        int n;
        int cp;
        if (c >= 0xc0 && c < 0xe0) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c < 0xf0) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c < 0xf8) {
            n = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        for (int k = 1; k <= n; k++) {
            if (i + k >= b.length || (b[i + k] & 0xc0) != 0x80) {
                end[0] = i + k;
                return -1;
            }
            cp = cp << 6 | (b[i + k] & 0x3f);
        }
        end[0] = i + n + 1;
        int min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
        if (cp < min && !(n == 1 && cp == 0)) {
            return -1; // overlong (C0 80, U+0000, is modified UTF-8's)
        }
        return cp;
    }

    /** A growable byte array for the token being read. */
    private static final class ByteBuilder {
        private byte[] buf = new byte[16];
        private int len;

        void append(int c) {
            if (len == buf.length) {
                buf = java.util.Arrays.copyOf(buf, len * 2);
            }
            buf[len++] = (byte) c;
        }

        byte[] toArray() {
            return java.util.Arrays.copyOf(buf, len);
        }

        void clear() {
            len = 0;
        }
    }
}
