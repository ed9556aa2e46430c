package dev.q2.testutil;

/** qemu-img's stderr as q2 prints it, for differential tests of commands whose words q2 matches. */
public final class QemuText {
    private QemuText() {
    }

    /**
     * qemu-img's stderr with q2's name in it and its two-line size message joined (q2 prints every refusal on one
     * line; see docs/compatibility.md), and QEMU's generated node names ("#block" and three digits, partly random)
     * replaced by "#blockN" (in q2's text too).
     */
    public static String normalize(String qemuErr) {
        return nodeNames(qemuErr.replaceAll("(?m)^qemu-img: ", "q2: ")
                .replace("Try 'qemu-img --help'", "Try 'q2 --help'")
                .replace("suffixes for\nq2: kilobytes", "suffixes for kilobytes"));
    }

    /** Node names replaced by "#blockN". */
    public static String nodeNames(String text) {
        return text.replaceAll("#block\\d+", "#blockN");
    }
}
