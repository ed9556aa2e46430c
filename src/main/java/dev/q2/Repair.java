package dev.q2;

/** What {@link Qcow2#check(java.nio.file.Path, Repair)} may repair, as qemu-img check's {@code -r}. */
public enum Repair {
    /** Check only; open read-only. */
    NONE,
    /** Repair leaked clusters only ({@code -r leaks}). */
    LEAKS,
    /** Repair everything that can be repaired ({@code -r all}). */
    ALL
}
