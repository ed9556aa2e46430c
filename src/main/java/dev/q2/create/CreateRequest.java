package dev.q2.create;

/**
 * What the user asked qemu-img create for: the file name as given, the size argument (or null), the -o options and
 * the -b/-F/-u flags.
 */
public record CreateRequest(String filename, String sizeArgument, CreateOptions options, String backingFile,
                            String backingFormat, boolean unsafe) {
}
