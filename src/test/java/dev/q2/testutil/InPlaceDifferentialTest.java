package dev.q2.testutil;

/**
 * Base of the differential tests of a command that changes an image in place (amend, resize): each case is a shell
 * script that makes the inputs and the command's arguments, compared by {@link TwoFolders#sameInPlace}.
 */
public abstract class InPlaceDifferentialTest extends QemuTest {
    /** An empty 1 GiB image. */
    protected static final String PLAIN = "qemu-img create -q -f qcow2 img.qcow2 1G";

    private final String command;

    protected InPlaceDifferentialTest(String command) {
        this.command = command;
    }

    /** The command with {@code args} on copies of what {@code setup} makes: the same in every way. */
    protected void same(String setup, String... args) throws Exception {
        TwoFolders.sameInPlace(dir, setup, command, args);
    }
}
