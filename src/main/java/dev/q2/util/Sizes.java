package dev.q2.util;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;

/** Parsing and printing of byte sizes the way qemu-img does (qemu_strtosz and size_to_str). */
public final class Sizes {
    private Sizes() {
    }

    /** A size string qemu would refuse; {@link #outOfRange} tells which of qemu's two messages applies. */
    public static final class SizeFormatException extends Exception {
        private final boolean outOfRange;

        SizeFormatException(String input, boolean outOfRange) {
            super("invalid size '" + input + "'");
            this.outOfRange = outOfRange;
        }

        public boolean outOfRange() {
            return outOfRange;
        }
    }

    /** Result of a parse: the value and whether qemu would warn about a suffix on a hex number. */
    public record Parsed(long value, boolean hexWithSuffix) {
    }

    private static long multiplier(char c) {
        return switch (c) {
            case 'b', 'B' -> 1L;
            case 'k', 'K' -> 1L << 10;
            case 'm', 'M' -> 1L << 20;
            case 'g', 'G' -> 1L << 30;
            case 't', 'T' -> 1L << 40;
            case 'p', 'P' -> 1L << 50;
            case 'e', 'E' -> 1L << 60;
            default -> -1;
        };
    }

    /**
     * Parses a size with qemu's rules: decimal digits (or 0x-prefixed hex), an optional fraction (only with a
     * suffix other than b), an optional one-letter binary suffix (b k M G T P E, either case), nothing after it.
     * Leading white space and a '+' sign are accepted, as strtoull accepts them. The result must fit in 64 bits
     * unsigned; callers check their own upper bound.
     */
    public static Parsed parse(String s) throws SizeFormatException {
        int i = 0;
        int n = s.length();
        while (i < n && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        if (i < n && s.charAt(i) == '+') {
            i++;
        }
        boolean hex = false;
        int digitsStart = i;
        BigInteger value;
        BigDecimal fraction = null; // BigDecimal only when there is a fraction: its class initialisation is slow
        if (i + 1 < n && s.charAt(i) == '0' && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                && i + 2 < n && Character.digit(s.charAt(i + 2), 16) >= 0) {
            hex = true;
            i += 2;
            int start = i;
            while (i < n && Character.digit(s.charAt(i), 16) >= 0) {
                i++;
            }
            value = new BigInteger(s.substring(start, i), 16);
            if (i < n && s.charAt(i) == '.') {
                throw new SizeFormatException(s, false);
            }
        } else {
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
            }
            if (i == digitsStart) {
                throw new SizeFormatException(s, false);
            }
            value = new BigInteger(s.substring(digitsStart, i));
            if (i < n && s.charAt(i) == '.') {
                int start = i;
                i++;
                while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                    i++;
                }
                if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E') && i + 1 < n
                        && (Character.isDigit(s.charAt(i + 1)) || s.charAt(i + 1) == '-' || s.charAt(i + 1) == '+')) {
                    throw new SizeFormatException(s, false); // exponents are refused
                }
                String frac = s.substring(start, i);
                if (frac.length() > 1) {
                    fraction = new BigDecimal("0" + frac);
                }
            }
        }
        if (value.bitLength() > 64) {
            throw new SizeFormatException(s, true);
        }
        long mul = 1;
        boolean suffix = false;
        if (i < n && multiplier(s.charAt(i)) > 0) {
            mul = multiplier(s.charAt(i));
            suffix = true;
            i++;
        }
        if (i != n) {
            throw new SizeFormatException(s, false);
        }
        if (mul == 1 && fraction != null && fraction.signum() != 0) {
            throw new SizeFormatException(s, false); // a fraction needs a scale
        }
        BigInteger scaled = value.multiply(BigInteger.valueOf(mul));
        if (fraction != null) {
            // qemu keeps the fraction as 64-bit fixed point and rounds half up
            BigInteger fixed = fraction.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(64)))
                    .setScale(0, RoundingMode.DOWN).toBigInteger();
            scaled = scaled.add(fixed.multiply(BigInteger.valueOf(mul)).add(BigInteger.ONE.shiftLeft(63))
                    .shiftRight(64));
        }
        if (scaled.bitLength() > 64) {
            throw new SizeFormatException(s, true);
        }
        return new Parsed(scaled.longValue(), hex && suffix);
    }

    /**
     * Formats a byte count as qemu's size_to_str: three significant digits (C's %0.3g) and a binary unit, switching
     * to the next unit once the number would reach 1000.
     */
    public static String humanSize(long bytes) {
        String[] suffixes = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        double val = unsignedToDouble(bytes);
        int exp = Math.getExponent(val / (1000.0 / 1024.0));
        int i = val == 0 ? 0 : (exp + 1 - 1) / 10; // frexp's exponent is getExponent + 1
        if (i < 0) {
            i = 0;
        }
        double div = Math.scalb(1.0, i * 10);
        return formatG3(val / div) + " " + suffixes[i] + "B";
    }

    private static double unsignedToDouble(long v) {
        return v >= 0 ? (double) v : new BigDecimal(new BigInteger(Long.toUnsignedString(v))).doubleValue();
    }

    /** C's printf("%0.3g"): 3 significant digits, trailing zeros removed, exponent form outside 1e-4..1e3. */
    static String formatG3(double v) {
        if (v >= 1 && v < 1000) {
            String fast = formatG3Plain(v);
            if (fast != null) {
                return fast;
            }
        }
        return formatG3Exact(v);
    }

    /**
     * {@link #formatG3} for 1 <= v < 1000 (every size humanSize prints but those that round to 1000) in long
     * arithmetic, or null when the result needs the exponent form. Rounds the exact binary value half to even, as
     * glibc's printf does. Saves BigDecimal's class initialisation (10-20 ms on JDK 25) on every q2 info.
     */
    static String formatG3Plain(double v) {
        int intDigits = v >= 100 ? 3 : v >= 10 ? 2 : 1;
        long bits = Double.doubleToRawLongBits(v);
        long m = (bits & 0x000fffffffffffffL) | 0x0010000000000000L; // v >= 1: a normal number
        int e = (int) ((bits >>> 52) & 0x7ff) - 1075;                 // v = m * 2^e
        long scale = intDigits == 1 ? 100 : intDigits == 2 ? 10 : 1;  // 3 significant digits
        long q;
        if (e >= 0) {
            q = (m << e) * scale; // an integer below 1000 times at most 100: exact, nothing to round
        } else {
            long num = m * scale;  // < 2^53 * 100, fits
            int s = -e;            // 1..52, as v >= 1
            q = num >>> s;
            long rem = num & ((1L << s) - 1);
            long half = 1L << (s - 1);
            if (rem > half || (rem == half && (q & 1) != 0)) {
                q++;
            }
        }
        if (q == 1000) { // rounded up to the next power of ten
            if (intDigits == 3) {
                return null;
            }
            q = 100;
            intDigits++;
        }
        String digits = Long.toString(q); // three digits
        String intPart = digits.substring(0, intDigits);
        String frac = digits.substring(intDigits);
        int end = frac.length();
        while (end > 0 && frac.charAt(end - 1) == '0') {
            end--;
        }
        return end == 0 ? intPart : intPart + "." + frac.substring(0, end);
    }

    /** {@link #formatG3} for any value, with BigDecimal. */
    static String formatG3Exact(double v) {
        if (v == 0) {
            return "0";
        }
        BigDecimal bd = new BigDecimal(v).round(new MathContext(3, RoundingMode.HALF_EVEN));
        int exponent = bd.precision() - bd.scale() - 1;
        if (exponent < -4 || exponent >= 3) {
            BigDecimal mantissa = bd.movePointLeft(exponent).stripTrailingZeros();
            String m = mantissa.toPlainString();
            return m + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
        }
        return bd.stripTrailingZeros().toPlainString();
    }
}
