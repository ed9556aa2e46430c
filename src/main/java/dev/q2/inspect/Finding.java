package dev.q2.inspect;

import java.util.Objects;

/**
 * One problem {@link Inspector} found.
 *
 * @param rule the {@link Rule#id()} of the rule that found it
 * @param message what was found, in one line
 */
public record Finding(String rule, String message) {
    public Finding {
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(message, "message");
    }

    static Finding of(Rule rule, String message) {
        return new Finding(rule.id(), message);
    }
}
