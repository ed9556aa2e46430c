package dev.q2.create;

/** The preallocation modes of qemu-img create. */
public enum Preallocation {
    OFF, METADATA, FALLOC, FULL;

    public String optionValue() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
