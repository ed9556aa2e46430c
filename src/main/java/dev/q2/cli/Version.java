package dev.q2.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine;

/** {@code q2 --version}: the build's Maven version and the qemu-img release whose behaviour q2 follows. */
final class Version implements CommandLine.IVersionProvider {
    /** The qemu-img release the differential tests compare q2 with. */
    static final String REFERENCE = "qemu-img 7.2";

    @Override
    public String[] getVersion() {
        return new String[] {"q2 version " + projectVersion(),
            "follows " + REFERENCE + " (Debian qemu-utils 7.2.22)"};
    }

    static String projectVersion() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isEmpty() && !v.startsWith("${")) {
                    return v;
                }
            }
        } catch (IOException e) {
            // fall through: an unfiltered or missing resource
        }
        return "unknown";
    }
}
