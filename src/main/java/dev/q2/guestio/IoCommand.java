package dev.q2.guestio;

/**
 * The entries of qemu-io's command table (cmdinfo_t) for the commands that take options: the name, the options q2
 * io reads (a getopt string holding only what q2 io implements, so that the others are refused as unknown) and the
 * usage line qemu-io prints after an option error, made as qemu-io makes it ("name args -- oneline").
 */
enum IoCommand {
    READ("read", "bCl:pP:qs:v", "[-abCqv] [-P pattern [-s off] [-l len]] off len",
            "reads a number of bytes at a specified offset"),
    WRITE("write", "bcCfpquzP:", "[-bcCfnquz] [-P pattern | -s source_file] off len",
            "writes a number of bytes at a specified offset"),
    DISCARD("discard", "Cq", "[-Cq] off len", "discards a number of bytes at a specified offset"),
    READV("readv", "CqvP:", "[-Cqv] [-P pattern] off len [len..]", "reads a number of bytes at a specified offset"),
    WRITEV("writev", "CfqP:", "[-Cfq] [-P pattern] off len [len..]", "writes a number of bytes at a specified offset"),
    AIO_READ("aio_read", "CqvP:", "[-Ciqv] [-P pattern] off len [len..]", "asynchronously reads a number of bytes"),
    AIO_WRITE("aio_write", "CfquzP:", "[-Cfiquz] [-P pattern] off len [len..]",
            "asynchronously writes a number of bytes"),
    OPEN("open", "rsCnkUt:i:o:", "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
            "open the file specified by path"),
    REOPEN("reopen", "c:o:rw", "[(-r|-w)] [-c cache] [-o options]", "reopens an image with new options"),
    TRUNCATE("truncate", "m:", "[-m prealloc_mode] off", "truncates the current file at the given offset");

    /** The command's name as typed. */
    final String command;
    /** The options q2 io reads, GNU getopt style ("P:" takes a value). */
    final String optstring;
    /** qemu-io's one-line usage. */
    final String usage;

    IoCommand(String command, String optstring, String args, String oneline) {
        this.command = command;
        this.optstring = optstring;
        this.usage = command + " " + args + " -- " + oneline;
    }

    /**
     * Reads the command's words as qemu-io's getopt does.
     *
     * @throws IoArgs.UsageException on an option error
     */
    IoArgs.Parsed getopt(java.util.List<String> words) {
        return IoArgs.getopt(command, words, optstring, usage);
    }
}
