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

    private final List<Finding> list = new ArrayList<>();
    private final Map<Rule, Long> counts = new LinkedHashMap<>();
    private final String prefix;

    Findings(String prefix) {
        this.prefix = prefix;
    }

    void add(Rule rule, String message) {
        long n = counts.merge(rule, 1L, Long::sum);
        if (n <= PER_RULE) {
            list.add(Finding.of(rule, prefix + message));
        }
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
