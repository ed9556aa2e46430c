package dev.q2.bitmap;

/**
 * One operation of qemu-img bitmap on the named bitmap: {@code --add}, {@code --remove}, {@code --clear},
 * {@code --enable}, {@code --disable} or {@code --merge SOURCE}.
 *
 * @param kind what to do
 * @param source the bitmap merged from (only for {@link Kind#MERGE})
 */
public record BitmapAction(Kind kind, String source) {
    /** The operations, each with the word qemu-img uses for it in its error messages. */
    public enum Kind {
        ADD("add"), REMOVE("remove"), CLEAR("clear"), ENABLE("enable"), DISABLE("disable"), MERGE("merge");

        private final String word;

        Kind(String word) {
            this.word = word;
        }

        /** qemu-img's word for the operation ("Operation add on bitmap b failed: ..."). */
        public String word() {
            return word;
        }
    }

    public static BitmapAction of(Kind kind) {
        return new BitmapAction(kind, null);
    }

    public static BitmapAction merge(String source) {
        return new BitmapAction(Kind.MERGE, source);
    }
}
