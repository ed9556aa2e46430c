package dev.q2.guestio;

import java.io.PrintWriter;
import java.io.Writer;

/**
 * qemu-io's standard output when it is not a terminal: C's stdio buffers it fully (4096 bytes, a pipe's or a file's
 * block size), so what qemu-io prints on stdout reaches the reader in whole blocks and at exit, after the lines it
 * printed on stderr (unbuffered) in between: a failed write's "write failed: ..." comes after the close's errors
 * (iotests 026, 080). {@link #flush} keeps the text (the callers' flushes are for a line-buffered terminal);
 * {@link #drain} writes it all out, at exit and before sigraise ends the process (qemu-io flushes stdout there).
 */
public final class StdioBuffer extends Writer {
    private static final int BLOCK = 4096;
    private final PrintWriter target;
    private final StringBuilder pending = new StringBuilder();

    public StdioBuffer(PrintWriter target) {
        this.target = target;
    }

    @Override
    public void write(char[] cbuf, int off, int len) {
        pending.append(cbuf, off, len);
        if (pending.length() >= BLOCK) {
            int whole = pending.length() / BLOCK * BLOCK;
            target.write(pending.substring(0, whole));
            target.flush();
            pending.delete(0, whole);
        }
    }

    /** Keeps the text: stdout is not flushed before its buffer is full. */
    @Override
    public void flush() {
    }

    /** Writes out everything held (exit, sigraise). */
    public void drain() {
        target.write(pending.toString());
        pending.setLength(0);
        target.flush();
    }

    @Override
    public void close() {
        drain();
    }
}
