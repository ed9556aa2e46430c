package dev.q2.check;

import dev.q2.image.ImageException;
import dev.q2.image.OpenRepair;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.PrintWriter;

/**
 * QEMU's repair of a dirty image on a read-write open (qcow2_do_open: qcow2_co_check_locked with
 * BDRV_FIX_ERRORS | BDRV_FIX_LEAKS): one check pass with {@code -r all}, snapshot table included, its messages on
 * stderr, and the dirty bit cleared when nothing is left broken. A failed check, or one with check errors, makes
 * the open fail with {@code Could not repair dirty image: <error>}.
 */
public final class DirtyImageRepair implements OpenRepair {
    @Override
    public void repairDirty(ImageFile file, PrintWriter err) throws IOException {
        Qcow2Metadata image = Qcow2Metadata.loadForCheck(file);
        CheckResult r;
        try {
            // OpenRepair's contract is a PrintWriter (image/ owns it): the check's messages as qemu-img prints them,
            // error_report's ones headed by the program's name as the command line heads them
            r = CheckPass.run(image, CheckMode.ALL, new CheckSession(), new CheckListener() {
                @Override
                public void message(CheckMessage m) {
                    err.println(m.errorReport() ? "q2: " + m.text() : m.text());
                }
            });
        } catch (CheckFailedException e) {
            throw new ImageException("Could not repair dirty image: " + e.reason());
        } finally {
            err.flush();
        }
        if (r.checkErrors() != 0) {
            throw new ImageException("Could not repair dirty image: Input/output error");
        }
    }
}
