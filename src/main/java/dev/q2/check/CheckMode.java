package dev.q2.check;

/** What a check may repair (qemu-img check -r): nothing, leaked clusters only, or everything it can. */
public enum CheckMode {
    /** Repair nothing; the image is opened read-only. */
    NONE,
    /** Repair leaked clusters ({@code -r leaks}). */
    LEAKS,
    /** Repair everything the check can repair ({@code -r all}). */
    ALL;

    /** Whether leaked clusters are freed. */
    public boolean fixLeaks() {
        return this != NONE;
    }

    /** Whether corruptions are repaired. */
    public boolean fixErrors() {
        return this == ALL;
    }

    /** Whether anything is repaired (the image is then opened read-write). */
    public boolean repairs() {
        return this != NONE;
    }
}
