package dev.q2.util;

import java.io.IOException;

/** Closing several resources as one: each is closed even when one before it fails. */
public final class Closeables {
    private Closeables() {
    }

    /**
     * Closes every resource in order, skipping nulls; the first {@link IOException} is thrown once all are closed.
     * An unchecked exception stops at once, as it would from a plain {@code close()}.
     *
     * @param resources what to close (q2's resources throw {@link IOException} only)
     * @throws IOException the first failure
     */
    public static void closeAll(Iterable<? extends AutoCloseable> resources) throws IOException {
        IOException first = null;
        for (AutoCloseable c : resources) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
