package dev.q2.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The secrets given on a command line, by id, as QEMU's object container holds them. */
public final class Secrets {
    private final Map<String, Secret> byId = new LinkedHashMap<>();

    /**
     * Parses each {@code --object} argument, refusing a second secret with the same id as QEMU does.
     *
     * @param objects the arguments, in order
     * @return the secrets
     * @throws CryptoException with qemu-img's message
     */
    public static Secrets parse(List<String> objects) throws CryptoException {
        Secrets s = new Secrets();
        for (int i = 0; i < objects.size(); i++) {
            s.add(SecretObject.parse(objects.get(i)));
        }
        return s;
    }

    /**
     * Adds a secret.
     *
     * @param secret the secret
     * @throws CryptoException when its id is taken
     */
    public void add(Secret secret) throws CryptoException {
        if (byId.containsKey(secret.id())) {
            throw new CryptoException("attempt to add duplicate property '" + secret.id()
                    + "' to object (type 'container')");
        }
        byId.put(secret.id(), secret);
    }

    /** @return whether no secret was given */
    public boolean isEmpty() {
        return byId.isEmpty();
    }

    /**
     * The secret with this id.
     *
     * @param id the id
     * @return the secret
     * @throws CryptoException "No secret with id 'ID'", as QEMU
     */
    public Secret get(String id) throws CryptoException {
        Secret s = byId.get(id);
        if (s == null) {
            throw new CryptoException("No secret with id '" + id + "'");
        }
        return s;
    }

    /**
     * The secret with this id, or null.
     *
     * @param id the id
     * @return the secret or null
     */
    public Secret find(String id) {
        return byId.get(id);
    }

    /**
     * A secret as a password: QEMU takes it as UTF-8 text (qcrypto_secret_lookup_as_utf8), refusing bytes that are
     * not UTF-8 or that hold a NUL.
     *
     * @param secret the secret
     * @return its bytes, checked
     * @throws CryptoException "Data from secret ID is not valid UTF-8"
     */
    public static byte[] password(Secret secret) throws CryptoException {
        byte[] b = secret.bytes();
        for (byte x : b) {
            if (x == 0) {
                throw new CryptoException("Data from secret " + secret.id() + " is not valid UTF-8");
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
        } catch (CharacterCodingException e) {
            throw new CryptoException("Data from secret " + secret.id() + " is not valid UTF-8");
        }
        return b;
    }
}
