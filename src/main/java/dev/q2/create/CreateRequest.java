package dev.q2.create;

import java.nio.file.Path;

/**
 * What the user asked qemu-img create for: the file name as given, the size argument (or null), the -o options and
 * the -b/-F/-u flags.
 */
public record CreateRequest(Path workDir, String filename, String sizeArgument, CreateOptions options, String backingFile,
                            String backingFormat, boolean unsafe) {
}
