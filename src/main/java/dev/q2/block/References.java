package dev.q2.block;

/**
 * Which of the files an image names are opened with it: its backing chain, its external data file. Each name in an
 * image comes from whoever wrote the image; on an untrusted image, {@link #NONE} opens the image's own file only.
 */
public enum References {
    /** Everything the image names, as qemu-img opens it: the backing chain and the external data file. */
    ALL,
    /**
     * No backing file, as QEMU's {@code "backing": null} ({@code json:{..., "backing": null}}): clusters the image
     * does not allocate read as zeros. The external data file is still opened.
     */
    NO_BACKING,
    /**
     * The image's own file only (q2's {@code --no-references}): no backing file, no external data file; no name the
     * image holds is opened, stat'ed or resolved. Data in an external data file is described by its offset there
     * and the name the image stores, unverified.
     */
    NONE;

    /** @return whether the backing chain is opened */
    public boolean backing() {
        return this == ALL;
    }

    /** @return whether an external data file is opened */
    public boolean dataFile() {
        return this != NONE;
    }
}
