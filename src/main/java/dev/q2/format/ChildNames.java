package dev.q2.format;

import java.nio.file.Path;

/**
 * How QEMU 7.2 finds the files an image names: its backing file and its external data file. The two rules differ,
 * and both are QEMU's:
 * <ul>
 * <li>a backing file named relatively is found in the folder of the image that names it (QEMU's
 * {@code bdrv_get_full_backing_filename}); the combined name is also the one QEMU shows;</li>
 * <li>an external data file is opened as an ordinary child node ({@code bdrv_open_child} from {@code qcow2_do_open}),
 * whose relative name QEMU does not combine with anything: it is found in the process's working folder, wherever
 * the image lies ({@code qemu-img map dir/img.qcow2} with {@code data_file=d.raw} opens {@code ./d.raw}).</li>
 * </ul>
 */
public final class ChildNames {
    private ChildNames() {
    }

    /**
     * The name of a backing file as QEMU opens and shows it: {@code named} when absolute, else {@code named} in the
     * folder of {@code imageFilename} (kept relative when the image's name is).
     */
    public static String backing(String imageFilename, String named) {
        if (named.startsWith("/") || hasProtocol(named)) {
            return named; // QEMU combines no name with a protocol prefix (json:, file:, nbd:, ...)
        }
        int slash = imageFilename.lastIndexOf('/');
        return slash < 0 ? named : imageFilename.substring(0, slash + 1) + named;
    }

    /**
     * Whether {@code name} starts with a protocol prefix as QEMU's {@code path_has_protocol} reads one: a colon
     * before any slash.
     */
    public static boolean hasProtocol(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/') {
                return false;
            }
            if (c == ':') {
                return true;
            }
        }
        return false;
    }

    /**
     * Where an external data file named {@code named} in an image's header is: in {@code workDir}, the working
     * folder of the process (not the image's folder), unless absolute.
     */
    public static Path dataFile(Path workDir, String named) {
        return workDir.resolve(named);
    }
}
