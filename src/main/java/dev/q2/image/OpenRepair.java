package dev.q2.image;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ServiceLoader;

/**
 * The repair QEMU runs when it opens a dirty image (lazy refcounts were in use when it was last closed) for
 * writing: qcow2_co_check_locked with BDRV_FIX_ERRORS | BDRV_FIX_LEAKS, which also clears the dirty bit. It lives
 * with the check (package {@code dev.q2.check}), found through {@link ServiceLoader} so that the engine does not
 * depend on the check.
 */
public interface OpenRepair {
    /**
     * Checks and repairs the image in {@code file} (open for writing), printing what the check prints to
     * {@code err}, as QEMU prints it to stderr.
     *
     * @throws ImageException {@code Could not repair dirty image: ...} when the check failed or left check errors
     */
    void repairDirty(ImageFile file, PrintWriter err) throws IOException;

    /** The repair on the class path, or null when the check is not there. */
    static OpenRepair find() {
        return ServiceLoader.load(OpenRepair.class, OpenRepair.class.getClassLoader()).findFirst().orElse(null);
    }
}
