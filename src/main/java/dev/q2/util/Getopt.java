package dev.q2.util;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * GNU getopt_long, the one option reader of q2's commands that read their words as QEMU does: qemu-img's commands
 * whose meaning depends on the order of their options ({@code bitmap}'s actions) or whose refusals qemu-img words
 * itself ({@code dd}), and qemu-io's commands in {@code q2 io}. Options and operands in any order (operands kept in
 * order), {@code --} ends the options, short options may be clustered ({@code -fqcow2}), long options take
 * {@code --name=value} or {@code --name value} and may be shortened to a unique prefix. The two programs word
 * their errors differently ({@link Wording#QEMU_IMG}, {@link Wording#qemuIo(String)}).
 *
 * <p>Not thread-safe; one instance per parse.
 */
public final class Getopt {
    /**
     * One option as matched.
     *
     * @param key the short letter, or the long name (or the short letter a long alias reports)
     * @param arg its argument, or null
     */
    public record Opt(String key, String arg) {
    }

    /** How a program words getopt's two errors. */
    public interface Wording {
        /**
         * The message for an unknown option.
         *
         * @param word the command-line word the option is in
         * @param letter the short option letter, or 0 for a long option
         * @return the message
         */
        String unknown(String word, char letter);

        /**
         * The message for an option whose argument is missing.
         *
         * @param word the command-line word the option is in
         * @param letter the short option letter, or 0 for a long option
         * @return the message
         */
        String missingArgument(String word, char letter);

        /** qemu-img's words (its option strings start with ':'): {@code unrecognized option '-x'}. */
        Wording QEMU_IMG = new Wording() {
            @Override
            public String unknown(String word, char letter) {
                return "unrecognized option '" + word + "'";
            }

            @Override
            public String missingArgument(String word, char letter) {
                return "missing argument for option '" + word + "'";
            }
        };

        /**
         * GNU getopt's own words, as qemu-io's commands print them: {@code read: invalid option -- 'x'}.
         *
         * @param cmd the command name that prefixes the message
         * @return the wording
         */
        static Wording qemuIo(String cmd) {
            return new Wording() {
                @Override
                public String unknown(String word, char letter) {
                    return cmd + ": invalid option -- '" + letter + "'";
                }

                @Override
                public String missingArgument(String word, char letter) {
                    return cmd + ": option requires an argument -- '" + letter + "'";
                }
            };
        }
    }

    private static final class GetoptException extends Exception {
        private static final long serialVersionUID = 1L;

        GetoptException(String message) {
            super(message);
        }
    }

    /** The options in the order given; the last is an {@link #ERROR} when parsing stopped at an error. */
    public final List<Opt> options = new ArrayList<>();
    /** The operands in the order given. */
    public final List<String> operands = new ArrayList<>();

    private Getopt() {
    }

    /**
     * Parses {@code args} with qemu-img's wording.
     *
     * @param args the words
     * @param shorts getopt's option string without the leading ':' ("b:f:F:g:h")
     * @param longs each long name mapped to {"1" if it takes an argument else "0", the key it reports (a short
     *     letter for aliases such as "--granularity", or the name itself)}
     * @return the options and operands
     */
    public static Getopt parse(List<String> args, String shorts, Map<String, String[]> longs) {
        return parse(args, shorts, longs, Wording.QEMU_IMG);
    }

    /**
     * Parses {@code args}; an error ends the options with an {@link #ERROR} entry whose argument is the message.
     *
     * @param args the words
     * @param shorts getopt's option string without the leading ':'
     * @param longs the long options, as for {@link #parse(List, String, Map)}
     * @param wording how the errors are worded
     * @return the options and operands
     */
    public static Getopt parse(List<String> args, String shorts, Map<String, String[]> longs, Wording wording) {
        Getopt g = new Getopt();
        try {
            g.scan(args, shorts, longs, wording);
        } catch (GetoptException e) {
            g.options.add(new Opt(ERROR, e.getMessage())); // reported when the options before it have been taken
        }
        return g;
    }

    /** The key of the last option when parsing stopped at an error; its argument is the message. */
    public static final String ERROR = "?";

    private void scan(List<String> args, String shorts, Map<String, String[]> longs, Wording wording)
            throws GetoptException {
        Getopt g = this;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                g.operands.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (a.startsWith("--") && !longs.isEmpty()) { // getopt without long options: "--x" is -, x
                String body = a.substring(2);
                int eq = body.indexOf('=');
                String name = eq >= 0 ? body.substring(0, eq) : body;
                String[] spec = longs.get(name);
                String full = name;
                if (spec == null) {
                    String found = null;
                    for (String k : longs.keySet()) {
                        if (k.startsWith(name)) {
                            if (found != null && !java.util.Arrays.equals(longs.get(found), longs.get(k))) {
                                throw new GetoptException(wording.unknown(a, (char) 0));
                            }
                            found = found == null ? k : found;
                        }
                    }
                    if (found == null || name.isEmpty()) {
                        throw new GetoptException(wording.unknown(a, (char) 0));
                    }
                    full = found;
                    spec = longs.get(found);
                }
                boolean hasArg = spec[0].equals("1");
                String key = spec[1];
                if (hasArg) {
                    String v;
                    if (eq >= 0) {
                        v = body.substring(eq + 1);
                    } else if (i + 1 < args.size()) {
                        v = args.get(++i);
                    } else {
                        throw new GetoptException(wording.missingArgument(a, (char) 0));
                    }
                    g.options.add(new Opt(key, v));
                } else {
                    if (eq >= 0) {
                        throw new GetoptException(wording.unknown(a, (char) 0));
                    }
                    g.options.add(new Opt(key, null));
                }
                continue;
            }
            if (a.startsWith("-") && a.length() > 1) {
                for (int j = 1; j < a.length(); j++) {
                    char c = a.charAt(j);
                    int at = c == ':' ? -1 : shorts.indexOf(c);
                    if (at < 0) {
                        throw new GetoptException(wording.unknown(a, c));
                    }
                    boolean hasArg = at + 1 < shorts.length() && shorts.charAt(at + 1) == ':';
                    if (!hasArg) {
                        g.options.add(new Opt(String.valueOf(c), null));
                        continue;
                    }
                    String v;
                    if (j + 1 < a.length()) {
                        v = a.substring(j + 1);
                    } else if (i + 1 < args.size()) {
                        v = args.get(++i);
                    } else {
                        throw new GetoptException(wording.missingArgument(a, c));
                    }
                    g.options.add(new Opt(String.valueOf(c), v));
                    break;
                }
                continue;
            }
            g.operands.add(a);
        }
    }
}
