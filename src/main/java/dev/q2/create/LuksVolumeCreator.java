package dev.q2.create;

import dev.q2.crypto.LuksKeys;
import dev.q2.crypto.Secret;
import dev.q2.crypto.Secrets;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * qemu-img create -f luks: a LUKS1 volume (the header and its key material, then the encrypted payload of the
 * virtual size, left sparse), as QEMU's block/crypto.c creates it with the same header {@link LuksKeys#create}
 * makes for qcow2. Its options, in the order the "Formatting" line lists them, are QEMU's luks create options.
 */
public final class LuksVolumeCreator {
    /** QEMU's luks create options, in its option list's order. */
    public static final List<String> OPTIONS = List.of("key-secret", "cipher-alg", "cipher-mode", "ivgen-alg",
            "ivgen-hash-alg", "hash-alg", "iter-time");

    /** A checked request: the Formatting line and what to write. */
    public record Plan(String formattingLine, long size, Map<String, String> options) {
    }

    private LuksVolumeCreator() {
    }

    /**
     * Checks a request as qemu-img does up to its "Formatting" line.
     *
     * @param filename the name as given
     * @param sizeArgument the size operand, or null
     * @param optionArgs the -o arguments
     * @return the plan
     * @throws CreateException with qemu-img's message (never after the Formatting line)
     */
    public static Plan plan(String filename, String sizeArgument, List<String> optionArgs) throws CreateException {
        Map<String, String> opts = new LinkedHashMap<>();
        String sizeOpt = null;
        for (String arg : optionArgs) {
            for (String kv : arg.split(",")) {
                if (kv.isEmpty()) {
                    continue;
                }
                int eq = kv.indexOf('=');
                String k = eq < 0 ? kv : kv.substring(0, eq);
                String v = eq < 0 ? "on" : kv.substring(eq + 1);
                if (k.equals("size")) {
                    sizeOpt = v;
                } else if (OPTIONS.contains(k)) {
                    opts.put(k, v);
                } else {
                    throw new CreateException("Invalid parameter '" + k + "'", false);
                }
            }
        }
        List<String> warnings = new ArrayList<>();
        Long size = null;
        if (sizeArgument != null) {
            size = CreatePlanner.parseSizeArgument(sizeArgument, warnings);
        }
        if (size != null && sizeOpt != null) {
            throw new CreateException("The image size must be specified only once", false);
        }
        if (size == null && sizeOpt != null) {
            size = CreatePlanner.parseSizeArgument(sizeOpt, warnings);
        }
        if (size == null) {
            throw new CreateException("Image creation needs a size parameter", false);
        }
        StringBuilder line = new StringBuilder("Formatting '" + filename + "', fmt=luks size=" + size);
        for (String k : OPTIONS) {
            if (opts.containsKey(k)) {
                line.append(' ').append(k).append('=').append(opts.get(k));
            }
        }
        return new Plan(line.toString(), size, opts);
    }

    /**
     * Writes the volume (after the Formatting line). Nothing is written when the secret or the cipher is refused.
     *
     * @param path where
     * @param plan the checked request
     * @param secrets the --object secrets, or null
     * @throws CreateException qemu-img's refusals (key-secret missing, no such secret, ciphers q2 lacks)
     * @throws IOException when the file cannot be written
     */
    public static void create(Path path, Plan plan, Secrets secrets) throws IOException, CreateException {
        Map<String, String> o = plan.options();
        String id = o.get("key-secret");
        if (id == null) {
            throw new CreateException("Parameter 'key-secret' is required for cipher", true);
        }
        Secret key = secrets != null ? secrets.find(id) : null;
        if (key == null) {
            throw new CreateException("No secret with id '" + id + "'", true);
        }
        long iterTime = 2000;
        if (o.get("iter-time") != null) {
            java.math.BigInteger v = EncryptOptions.strtol(o.get("iter-time"));
            if (v == null || v.bitLength() > 63) {
                throw new CreateException("Parameter 'iter-time' expects a number", true);
            }
            iterTime = v.longValue();
        }
        CreateOptions co = new CreateOptions();
        co.set("encrypt.format", "luks");
        co.set("encrypt.key-secret", id);
        for (String k : OPTIONS) {
            if (!k.equals("key-secret") && !k.equals("iter-time") && o.get(k) != null) {
                co.set("encrypt." + k, o.get(k));
            }
        }
        Secrets one = new Secrets();
        one.add(key);
        EncryptionRequest r = EncryptOptions.request(co, "luks", one);
        LuksKeys.NewHeader h = LuksKeys.create(r.cipherAlg(), r.cipherMode(), r.ivgenAlg(), r.ivgenHashAlg(),
                r.hashAlg(), iterTime, Secrets.password(key), new SecureRandom());
        if (!Files.exists(path)) {
            Files.createFile(path);
        }
        try (ImageFile f = ImageFile.openReadWrite(path)) {
            f.setLength(0);
            // the header and slot 0's key material; the other slots' areas and the payload stay holes
            int used = (int) Math.min(h.area().length, 4096L + (long) h.header().keyBytes() * 4000 + 4096);
            f.writeFully(0, ByteBuffer.wrap(h.area(), 0, used));
            f.setLength(h.area().length + plan.size());
            f.flush();
        }
    }
}
