package dev.q2.inspect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects findings, keeping the output bounded whatever the image holds: at most {@value #PER_RULE} findings per
 * rule are kept, and one more says how many others there were.
 */
final class Findings {
    static final int PER_RULE = 16;
    static final int MAX_MESSAGE = 4096;

    private final List<Finding> list = new ArrayList<>();
    private final Map<Rule, Long> counts = new LinkedHashMap<>();
    private final String prefix;

    Findings(String prefix) {
        this.prefix = prefix;
    }

    void add(Rule rule, String message) {
        long n = counts.merge(rule, 1L, Long::sum);
        if (n <= PER_RULE) {
            list.add(Finding.of(rule, oneLine(prefix + message)));
        }
    }

    /**
     * A message on one line whatever the image holds: control characters (a newline in a bitmap name, say, that
     * could forge a verdict line in the human output) escaped, and at most {@value #MAX_MESSAGE} characters.
     */
    static String oneLine(String message) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < message.length() && b.length() < MAX_MESSAGE; i++) {
            char c = message.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (b.length() >= MAX_MESSAGE) {
            b.setLength(MAX_MESSAGE);
            b.append("...");
        }
        return b.toString();
    }

    boolean any(Rule rule) {
        return counts.containsKey(rule);
    }

    boolean isEmpty() {
        return counts.isEmpty();
    }

    List<Finding> toList() {
        List<Finding> out = new ArrayList<>(list);
        for (Map.Entry<Rule, Long> e : counts.entrySet()) {
            if (e.getValue() > PER_RULE) {
                out.add(Finding.of(e.getKey(), prefix + (e.getValue() - PER_RULE) + " more findings of this rule"));
            }
        }
        return out;
    }
}
