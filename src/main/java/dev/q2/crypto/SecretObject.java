package dev.q2.crypto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU's secret object as {@code --object secret,id=ID,data=DATA|file=PATH[,format=raw|base64]} gives it, parsed
 * with QemuOpts' syntax (comma-separated {@code key=value}, {@code ,,} for a comma, the type first) and checked with
 * qemu-img's messages. Secrets encrypted with another secret ({@code keyid}, {@code iv}) are not supported.
 */
public final class SecretObject {
    private static final List<String> KEYS = List.of("id", "data", "file", "format", "keyid", "iv", "loaded");

    private SecretObject() {
    }

    /**
     * Parses one {@code --object} argument.
     *
     * @param spec the argument
     * @return the secret
     * @throws CryptoException with qemu-img's message when it is not a usable secret
     */
    public static Secret parse(String spec) throws CryptoException {
        Map<String, String> opts = options(spec);
        String type = opts.remove("qom-type");
        if (type == null) {
            throw new CryptoException("Parameter 'qom-type' is missing");
        }
        if (!type.equals("secret")) {
            throw new CryptoException("Parameter 'qom-type' does not accept value '" + type + "'");
        }
        for (String k : opts.keySet()) {
            if (!KEYS.contains(k)) {
                throw new CryptoException("Parameter '" + k + "' is unexpected");
            }
        }
        String id = opts.get("id");
        if (id == null) {
            throw new CryptoException("Parameter 'id' is missing");
        }
        String format = opts.getOrDefault("format", "raw");
        if (!format.equals("raw") && !format.equals("base64")) {
            throw new CryptoException("Parameter 'format' does not accept value '" + format + "'");
        }
        String data = opts.get("data");
        String file = opts.get("file");
        if (data != null && file != null) {
            throw new CryptoException("'file' and 'data' are mutually exclusive");
        }
        if (data == null && file == null) {
            throw new CryptoException("Either 'file' or 'data' must be provided");
        }
        if (opts.get("keyid") != null || opts.get("iv") != null) {
            throw new CryptoException("Secrets encrypted with another secret (keyid, iv) are not supported by q2");
        }
        byte[] raw;
        if (data != null) {
            raw = data.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } else {
            raw = readFile(file);
        }
        if (format.equals("base64")) {
            raw = base64(raw);
        }
        return new Secret(id, raw);
    }

    /** The largest secret file read (a key or password; QEMU has no limit, q2 will not hold an endless one). */
    private static final int MAX_FILE = 64 << 20;

    private static byte[] readFile(String file) throws CryptoException {
        // read up to the limit, not by the size the file reports: /dev/zero or a pipe report 0 and never end
        try (java.io.InputStream in = Files.newInputStream(Path.of(file))) {
            byte[] bytes = in.readNBytes(MAX_FILE + 1);
            if (bytes.length > MAX_FILE) {
                throw new CryptoException("Unable to read " + file + ": the file is larger than 64 MiB");
            }
            return bytes;
        } catch (CryptoException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new CryptoException("Unable to read " + file + ": Failed to open file \u201c" + file
                    + "\u201d: No such file or directory");
        } catch (java.nio.file.InvalidPathException e) {
            // (a NUL in the name: not from a command line, but the library takes any string; fuzz finding)
            throw new CryptoException("Unable to read " + file + ": Failed to open file \u201c" + file
                    + "\u201d: Invalid argument");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new CryptoException("Unable to read " + file + ": Failed to open file \u201c" + file
                    + "\u201d: Permission denied");
        } catch (IOException e) {
            // opened but not readable (a folder): glib's g_file_get_contents words, as qemu-img prints them
            throw new CryptoException("Unable to read " + file + ": Error reading file \u201c" + file + "\u201d: "
                    + e.getMessage());
        }
    }

    /**
     * Base64 as QEMU's secret object takes it: characters outside the alphabet are refused (qbase64_decode's
     * check); otherwise glib decodes leniently, ignoring padding and a trailing partial group.
     */
    private static byte[] base64(byte[] text) throws CryptoException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int acc = 0;
        int bits = 0;
        for (byte c : text) {
            int v;
            if (c >= 'A' && c <= 'Z') {
                v = c - 'A';
            } else if (c >= 'a' && c <= 'z') {
                v = c - 'a' + 26;
            } else if (c >= '0' && c <= '9') {
                v = c - '0' + 52;
            } else if (c == '+') {
                v = 62;
            } else if (c == '/') {
                v = 63;
            } else if (c == '=') {
                continue;
            } else {
                throw new CryptoException("Base64 data contains invalid characters");
            }
            acc = (acc << 6) | v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out.write((acc >>> bits) & 0xff);
            }
        }
        return out.toByteArray();
    }

    /** QemuOpts' syntax: the first element without '=' is the type; ",," is a literal comma. */
    static Map<String, String> options(String spec) {
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < spec.length(); i++) {
            char c = spec.charAt(i);
            if (c == ',') {
                if (i + 1 < spec.length() && spec.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                    continue;
                }
                parts.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        parts.add(cur.toString());
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < parts.size(); i++) {
            String p = parts.get(i);
            int eq = p.indexOf('=');
            if (eq < 0) {
                if (i == 0) {
                    out.put("qom-type", p);
                } else if (!p.isEmpty()) {
                    out.put(p, "on");
                }
            } else {
                out.put(p.substring(0, eq), p.substring(eq + 1));
            }
        }
        return out;
    }
}
