package dev.q2.guestio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** qemu-io's vectored commands, readv, writev, aio_read and aio_write, for {@link IoScript}. */
final class VectoredCommands {
    private final IoScript script;

    VectoredCommands(IoScript script) {
        this.script = script;
    }

    private GuestDisk disk() {
        return script.disk();
    }

    /**
     * readv, writev, aio_read and aio_write: {@code CMD [options] off len [len..]}, the lengths of the buffers one
     * request reads or writes at {@code off}; the request's bytes are their sum. q2 io implements -C, -q, -v, -P,
     * -f (a flush after the write) and aio_write's -z and -u; qemu-io's -i (accounting) is refused.
     */
    void run(IoCommand command, List<String> words, boolean write) throws IOException {
        String cmd = command.command;
        if (!script.argCount(cmd, words, 2, -1) || !script.permitted(cmd)) {
            return;
        }
        IoArgs.Parsed p = command.getopt(words);
        if (p.operands().size() < 2) {
            throw new IoArgs.UsageException(null, command.usage);
        }
        if (p.has('u') && !p.has('z')) {
            script.fail("-u requires -z to be specified");
            return;
        }
        if (p.has('z') && p.operands().size() > 2) {
            script.fail("-z supports only a single length parameter");
            return;
        }
        long offset = IoScript.number(p.operands().get(0));
        long total = 0;
        for (String len : p.operands().subList(1, p.operands().size())) {
            long n = IoScript.number(len);
            if (n > IoScript.MAX_LENGTH) {
                script.fail("Argument '" + len + "' exceeds maximum size " + IoScript.MAX_LENGTH);
                return;
            }
            total += n;
        }
        if (total > IoScript.MAX_LENGTH) {
            script.fail("length cannot exceed " + IoScript.MAX_LENGTH + ", given " + total);
            return;
        }
        Integer pattern = p.options().get('P') == null || p.has('z') ? null : IoScript.pattern(p.options().get('P'));
        String failure = write ? (cmd.equals("aio_write") ? "aio_write" : "writev") : "readv";
        // An aio request fails after its command returned: qemu-io prints the failure but exits with 0.
        boolean aio = cmd.startsWith("aio_");
        if (offset + total > disk().size()) {
            script.out().println(failure + " failed: Input/output error");
            if (!aio) {
                script.markFailed();
            }
            return;
        }
        long t0 = System.nanoTime();
        ByteBuffer b = null;
        if (write) {
            if (p.has('z')) {
                disk().writeZeroes(offset, total, p.has('u'));
            } else {
                byte[] data = new byte[(int) total];
                java.util.Arrays.fill(data, (byte) (pattern == null ? 0xcd : (int) pattern));
                disk().write(offset, ByteBuffer.wrap(data));
            }
            if (p.has('f') || script.writesThrough()) {
                disk().flush();
            }
        } else {
            b = ByteBuffer.allocate((int) total);
            disk().read(offset, b);
            if (pattern != null) {
                for (int i = 0; i < total; i++) {
                    if (b.get(i) != (byte) (int) pattern) {
                        script.out().println("Pattern verification failed at offset " + offset + ", " + total
                                + " bytes");
                        if (!aio) {
                            script.markFailed();
                        }
                        break;
                    }
                }
            }
        }
        if (p.has('q')) {
            return;
        }
        if (p.has('v') && b != null) {
            IoOutput.dump(script.out(), b, offset, (int) total);
        }
        IoOutput.report(script.out(), write ? "wrote" : "read", offset, total, p.has('C'), t0);
    }
}
