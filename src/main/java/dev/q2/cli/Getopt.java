package dev.q2.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * GNU getopt_long as qemu-img uses it (an option string starting with ':'), for the commands whose meaning depends
 * on the order of their options ({@code bitmap}'s actions) or whose refusals qemu-img words itself ({@code dd}):
 * options and operands in any order (operands kept in order), {@code --} ends the options, short options may be
 * clustered ({@code -fqcow2}), long options take {@code --name=value} or {@code --name value} and may be shortened
 * to a unique prefix. Errors read as qemu-img's: {@code unrecognized option '-x'}, {@code missing argument for
 * option '--merge'}.
 */
final class Getopt {
    /** One option as matched: its key (the short letter, or the long name) and its argument (or null). */
    record Opt(String key, String arg) {
    }

    /** An argument error, in qemu-img's words (printed with "Try 'q2 --help' for more information"). */
    static final class GetoptException extends Exception {
        GetoptException(String message) {
            super(message);
        }
    }

    final List<Opt> options = new ArrayList<>();
    final List<String> operands = new ArrayList<>();

    /**
     * Parses {@code args}. {@code shorts} is getopt's option string without the leading ':' ("b:f:F:g:h");
     * {@code longs} maps each long name to whether it takes an argument, and to the key it reports (a short letter
     * for aliases such as "--granularity", or the name itself).
     */
    static Getopt parse(List<String> args, String shorts, Map<String, String[]> longs) {
        Getopt g = new Getopt();
        try {
            g.scan(args, shorts, longs);
        } catch (GetoptException e) {
            g.options.add(new Opt(ERROR, e.getMessage())); // reported when the options before it have been taken
        }
        return g;
    }

    /** The key of the last option when parsing stopped at an error; its argument is qemu-img's message. */
    static final String ERROR = "?";

    private void scan(List<String> args, String shorts, Map<String, String[]> longs) throws GetoptException {
        Getopt g = this;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                g.operands.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (a.startsWith("--")) {
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
                                throw new GetoptException("unrecognized option '" + a + "'");
                            }
                            found = found == null ? k : found;
                        }
                    }
                    if (found == null || name.isEmpty()) {
                        throw new GetoptException("unrecognized option '" + a + "'");
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
                        throw new GetoptException("missing argument for option '" + a + "'");
                    }
                    g.options.add(new Opt(key, v));
                } else {
                    if (eq >= 0) {
                        throw new GetoptException("unrecognized option '" + a + "'");
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
                        throw new GetoptException("unrecognized option '" + a + "'");
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
                        throw new GetoptException("missing argument for option '" + a + "'");
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
