package dev.q2.guestio;

import dev.q2.util.Getopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** How qemu-io reads a command's words: GNU getopt's rules, its usage errors, and the block options it knows. */
final class IoArgs {
    private IoArgs() {
    }

    /** An option error: qemu-io prints getopt's message on stderr and the command's usage on stdout. */
    static final class UsageException extends IllegalArgumentException {
        final String usage;

        UsageException(String message, String usage) {
            super(message);
            this.usage = usage;
        }
    }

    /** A command's options and operands, read as qemu-io's getopt reads them. */
    record Parsed(Map<Character, String> options, List<String> operands, List<Map.Entry<Character, String>> ordered) {
        boolean has(char c) {
            return options.containsKey(c);
        }
    }

    /**
     * Reads {@code words} as GNU getopt does with {@code optstring} ("P:" takes a value): flags may be clustered
     * ("-qz"), a value may be attached ("-P0xcd") or the next word, options may follow operands, and "--" ends
     * them. q2 io's optstrings hold only what it implements, so a qemu-io option that q2 io does not implement is
     * refused as qemu-io refuses an unknown one, never ignored.
     */
    static Parsed getopt(String cmd, List<String> words, String optstring, String usage) {
        Getopt g = Getopt.parse(words, optstring, Map.of(), Getopt.Wording.qemuIo(cmd));
        Map<Character, String> options = new LinkedHashMap<>();
        List<Map.Entry<Character, String>> ordered = new java.util.ArrayList<>();
        for (Getopt.Opt o : g.options) {
            if (o.key().equals(Getopt.ERROR)) {
                throw new UsageException(o.arg(), usage);
            }
            options.put(o.key().charAt(0), o.arg() == null ? "" : o.arg());
            ordered.add(Map.entry(o.key().charAt(0), o.arg() == null ? "" : o.arg()));
        }
        return new Parsed(options, g.operands, ordered);
    }
}
