package dev.q2.check;

/** What a check may repair (qemu-img check -r): nothing, leaked clusters only, or everything it can. */
public enum CheckMode {
    NONE(false, false),
    LEAKS(true, false),
    ALL(true, true);

    private final boolean fixLeaks;
    private final boolean fixErrors;

    CheckMode(boolean fixLeaks, boolean fixErrors) {
        this.fixLeaks = fixLeaks;
        this.fixErrors = fixErrors;
    }

    public boolean fixLeaks() {
        return fixLeaks;
    }

    public boolean fixErrors() {
        return fixErrors;
    }

    public boolean repairs() {
        return fixLeaks || fixErrors;
    }
}
