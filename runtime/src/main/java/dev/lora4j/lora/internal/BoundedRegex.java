package dev.lora4j.lora.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Regex matching with a work limit, for the patterns an {@code adapter_config.json} brings
 * ({@code target_modules}, {@code exclude_modules}, {@code rank_pattern}, ...). A file from the
 * internet can hold a pattern such as {@code (.*a){20}} whose backtracking takes hours on a
 * 30-character module name; {@link java.util.regex} has no timeout. Here the input is read through
 * a {@link CharSequence} that counts character reads and gives up after {@link #MAX_READS}, which
 * legitimate patterns on module names never approach (they read each character a few times).
 */
public final class BoundedRegex {

    /** Character reads allowed for one match (a few milliseconds of work). */
    public static final long MAX_READS = 5_000_000L;

    private BoundedRegex() {}

    /**
     * Whether {@code pattern} matches the whole of {@code input}.
     *
     * @param what names the pattern in the error, e.g. {@code target_modules regex '(.*a){20}'}
     * @throws TooExpensive when matching needs more than {@link #MAX_READS} character reads
     */
    public static boolean matches(Pattern pattern, String input, String what) {
        return run(pattern, input, what, true);
    }

    /**
     * {@code pattern} matched against a prefix of {@code input}, or {@code null} when it does not
     * match there; groups can be read from the returned matcher.
     *
     * @throws TooExpensive as {@link #matches}
     */
    public static Matcher lookingAt(Pattern pattern, String input, String what) {
        Matcher m = pattern.matcher(new Budget(input));
        return run(m, input, what, false) ? m : null;
    }

    private static boolean run(Pattern pattern, String input, String what, boolean whole) {
        return run(pattern.matcher(new Budget(input)), input, what, whole);
    }

    private static boolean run(Matcher m, String input, String what, boolean whole) {
        try {
            return whole ? m.matches() : m.lookingAt();
        } catch (Exhausted e) {
            throw tooExpensive(what, input);
        }
    }

    /**
     * A pattern that needed more work than {@link #MAX_READS} on a module name (catastrophic
     * backtracking); the message names the pattern and the name. Readers of a PEFT file turn it into
     * their own exception type.
     */
    public static final class TooExpensive extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        TooExpensive(String message) {
            super(message);
        }
    }

    private static TooExpensive tooExpensive(String what, String input) {
        return new TooExpensive(what + " needs more than " + MAX_READS
                + " steps to match module name '" + input + "' (catastrophic backtracking); simplify the pattern");
    }

    /** Thrown from {@code charAt} once the budget is spent; carries no stack trace. */
    private static final class Exhausted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Exhausted() {
            super(null, null, false, false);
        }
    }

    /** The input, counting reads against a shared budget (sub-sequences share it). */
    private static final class Budget implements CharSequence {
        private final String text;
        private final long[] reads;

        Budget(String text) {
            this(text, new long[1]);
        }

        private Budget(String text, long[] reads) {
            this.text = text;
            this.reads = reads;
        }

        @Override
        public char charAt(int index) {
            if (++reads[0] > MAX_READS) {
                throw new Exhausted();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Budget(text.substring(start, end), reads);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
