package dev.q2.crypto;

import java.util.Arrays;

/**
 * The bytes of a secret (QEMU's secret object), e.g. a LUKS passphrase. Never printed: {@link #toString} names the
 * secret's id only.
 */
public final class Secret {
    private final String id;
    private final byte[] data;

    /**
     * @param id the secret's id ({@code --object secret,id=ID})
     * @param data its bytes (copied)
     */
    public Secret(String id, byte[] data) {
        this.id = id;
        this.data = data.clone();
    }

    /** @return the id */
    public String id() {
        return id;
    }

    /** @return a copy of the bytes */
    public byte[] bytes() {
        return data.clone();
    }

    /** @return the number of bytes */
    public int length() {
        return data.length;
    }

    /** Overwrites the bytes with zeros (after use). */
    public void wipe() {
        Arrays.fill(data, (byte) 0);
    }

    @Override
    public String toString() {
        return "Secret[" + id + "]";
    }
}
