package dev.q2.cli;

import dev.q2.crypto.ImageKeys;
import dev.q2.crypto.Secrets;

import java.io.PrintWriter;
import java.util.List;

/**
 * qemu-img's {@code --object}: q2 knows secret objects ({@code secret,id=ID,data=...|file=...[,format=...]}), and
 * this is where a command turns its {@code --object}s into {@link Secrets}, and an image's
 * {@code encrypt.key-secret=ID} (from {@code -o} or image options) into the {@link ImageKeys} its open takes. The
 * crypto classes load only when a command is given an {@code --object}.
 */
final class ObjectOptions {
    private ObjectOptions() {
    }

    /**
     * Whether any {@code --object} was given (checked first, so that commands without one load no crypto class).
     *
     * @param objects the option's value (a List of String), or null
     * @return true when there is one
     */
    static boolean given(Object objects) {
        return objects != null && !((List<?>) objects).isEmpty();
    }

    /**
     * The secrets of a command's {@code --object} arguments; null after printing qemu-img's error (exit 1).
     *
     * @param objects the option's value (a List of String), or null
     * @param err where the error goes
     * @return the secrets, or null on an error
     */
    static Secrets secrets(Object objects, PrintWriter err) {
        List<?> list = (List<?>) objects;
        Secrets s = new Secrets();
        for (int i = 0; i < list.size(); i++) {
            try {
                s.add(dev.q2.crypto.SecretObject.parse((String) list.get(i)));
            } catch (java.io.IOException e) { // (a CryptoException; caught as IOException so that this class,
                // loaded by every command with an --object option, loads no crypto class before one is given)
                err.println("q2: " + e.getMessage());
                err.flush();
                return null;
            }
        }
        return s;
    }

    /**
     * The keys an image name gives ({@code encrypt.key-secret}, {@code backing.encrypt.key-secret}), or null when it
     * gives none (see {@link #keys(Secrets, String, String)}).
     *
     * @param secrets the command's secrets, or null when it was given no --object
     * @param name the image's name
     * @return the keys, or null
     */
    static ImageKeys keys(Secrets secrets, dev.q2.block.ImageName name) {
        return keys(secrets, name.keySecret(), name.backingKeySecret());
    }

    /**
     * The keys for an image opened with {@code encrypt.key-secret=ID} (null: none given); the id is looked up
     * when the image turns out to be encrypted, as QEMU does.
     *
     * @param secrets the command's secrets, or null when it was given no --object
     * @param keySecretId the id, or null
     * @param backingKeySecretId the backing image's ({@code backing.encrypt.key-secret}), or null
     * @return the keys, or null when no id is given at all
     */
    static ImageKeys keys(Secrets secrets, String keySecretId, String backingKeySecretId) {
        if (keySecretId == null && backingKeySecretId == null) {
            return null; // (before any crypto class is touched: the common case of every open)
        }
        if (secrets == null) {
            secrets = new Secrets(); // no --object: the id is then not found, in QEMU's words
        }
        ImageKeys backing = backingKeySecretId == null ? null : ImageKeys.resolve(secrets, backingKeySecretId, null);
        return ImageKeys.resolve(secrets, keySecretId, backing);
    }
}
