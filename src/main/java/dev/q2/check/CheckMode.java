package dev.q2.check;

/** What a check may repair (qemu-img check -r): nothing, leaked clusters only, or everything it can. */
public enum CheckMode {
    /** Repair nothing; the image is opened read-only. */
    NONE(false, false),
    /** Repair leaked clusters ({@code -r leaks}). */
    LEAKS(true, false),
    /** Repair everything the check can repair ({@code -r all}). */
    ALL(true, true);

    private final boolean fixLeaks;
    private final boolean fixErrors;

    CheckMode(boolean fixLeaks, boolean fixErrors) {
        this.fixLeaks = fixLeaks;
        this.fixErrors = fixErrors;
    }

    /** Whether leaked clusters are freed. */
    public boolean fixLeaks() {
        return fixLeaks;
    }

    /** Whether corruptions are repaired. */
    public boolean fixErrors() {
        return fixErrors;
    }

    /** Whether anything is repaired (the image is then opened read-write). */
    public boolean repairs() {
        return fixLeaks || fixErrors;
    }
}
