package dev.q2.create;

/** The preallocation modes of qemu-img create. */
public enum Preallocation {
    OFF, METADATA, FALLOC, FULL;

    /**
     * The value of qemu-img's {@code preallocation} option.
     *
     * @return off, metadata, falloc or full
     */
    public String optionValue() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * The mode an option value names, as QAPI reads PreallocMode (the exact lower-case name).
     *
     * @param value the option's value
     * @return the mode, or null when the value names none
     */
    public static Preallocation fromOption(String value) {
        for (Preallocation p : values()) {
            if (p.optionValue().equals(value)) {
                return p;
            }
        }
        return null;
    }
}
