package dev.lora4j.processor.internal;

import java.util.List;

/**
 * Every message text the lora4j annotation processor prints, in one place.
 *
 * <p>Each message is one line, starts with {@code @LoRA on <class>#<field>: }, names the offending
 * value and says what is allowed.
 */
public final class Messages {

    private Messages() {}

    /** Start of every message about one annotated field. */
    private static String on(String where) {
        return "@LoRA on " + where + ": ";
    }

    /** {@code rank} below 1. */
    public static String rankTooSmall(String where, int rank) {
        return on(where) + "rank must be at least 1, got " + rank;
    }

    /** {@code alpha} zero, negative or infinite. */
    public static String alphaNotPositive(String where, double alpha) {
        return on(where) + "alpha must be a finite number greater than 0 (or left unset to use the rank), got "
                + number(alpha);
    }

    /** {@code dropout} outside {@code [0, 1)} or NaN. */
    public static String dropoutOutOfRange(String where, double dropout) {
        return on(where) + "dropout must be in [0, 1), got " + number(dropout);
    }

    /** {@code pissaNiter} below {@code -1}. */
    public static String pissaNiterNegative(String where, int niter) {
        return on(where) + "pissaNiter must be -1 (PiSSA with the exact SVD) or a number of subspace iterations"
                + " of at least 0, got " + niter;
    }

    /** {@code pissaNiter} set with an initialisation other than PiSSA. */
    public static String pissaNiterWithoutPissa(String where, int niter, String init) {
        return on(where) + "pissaNiter = " + niter + " needs init = LoraInit.PISSA (it sets the iterations of"
                + " PiSSA's randomized SVD), got init = LoraInit." + init;
    }

    /** The field's type holds no adaptable layer. */
    public static String typeNotAdaptable(String where, String type, List<String> layerTypes) {
        return on(where) + "field type " + type + " cannot be adapted; allowed are "
                + String.join(", ", layerTypes)
                + " (or a subclass), an array of one, or a List, Collection or Iterable of one";
    }

    /** The field is static. */
    public static String staticField(String where) {
        return on(where) + "field must not be static; adapters belong to each instance";
    }

    /** The adapter name is empty or only whitespace. */
    public static String adapterBlank(String where, String adapter) {
        return on(where) + "adapter name must not be empty or blank, got " + quote(adapter);
    }

    /** The adapter name contains a character that would break a module path or folder name. */
    public static String adapterBadCharacter(String where, String adapter, char bad) {
        return on(where) + "adapter name must not contain '.' or '/' (it becomes a module path segment"
                + " and a folder name), got " + quote(adapter) + " containing '" + bad + "'";
    }

    private static String number(double value) {
        return Double.toString(value);
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
