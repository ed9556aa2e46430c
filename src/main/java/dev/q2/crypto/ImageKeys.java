package dev.q2.crypto;

/**
 * The key secret an open uses for an encrypted image ({@code encrypt.key-secret=ID}), and its backing chain's, nested
 * as QEMU's options nest them ({@code backing.encrypt.key-secret}). As in QEMU, the id is looked up only when the
 * image is encrypted: an unencrypted image ignores it, and an encrypted one with an id that names no secret is
 * refused with "No secret with id 'ID'".
 *
 * @param keySecretId the id given as encrypt.key-secret, or null when none was given
 * @param key the secret with that id, or null when there is none
 * @param backing the keys of the backing image, or null
 */
public record ImageKeys(String keySecretId, Secret key, ImageKeys backing) {
    /**
     * @param key the image's key secret
     * @return keys for the image alone
     */
    public static ImageKeys of(Secret key) {
        return new ImageKeys(key.id(), key, null);
    }

    /**
     * The keys for {@code encrypt.key-secret=ID} among the given secrets (the secret itself looked up now, the
     * refusal of a missing one left to the open of an encrypted image).
     *
     * @param secrets the secrets of the command line
     * @param keySecretId the id, or null
     * @param backing the backing image's keys, or null
     * @return the keys
     */
    public static ImageKeys resolve(Secrets secrets, String keySecretId, ImageKeys backing) {
        return new ImageKeys(keySecretId, keySecretId != null ? secrets.find(keySecretId) : null, backing);
    }

    /**
     * The secret to unlock the image with.
     *
     * @return the secret
     * @throws CryptoException QEMU's words when no id was given or no secret has it
     */
    public Secret require() throws CryptoException {
        if (keySecretId == null) {
            throw new CryptoException("Parameter 'encrypt.key-secret' is required for cipher");
        }
        if (key == null) {
            throw new CryptoException("No secret with id '" + keySecretId + "'");
        }
        return key;
    }

    @Override
    public String toString() {
        return "ImageKeys[" + keySecretId + (backing != null ? ", backing=" + backing : "") + "]";
    }
}
