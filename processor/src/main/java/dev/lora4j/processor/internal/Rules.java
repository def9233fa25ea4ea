package dev.lora4j.processor.internal;

import java.util.List;

/** All validation rules, in the order they run on each field. */
public final class Rules {

    private Rules() {}

    /** A fresh list of every rule. */
    public static List<FieldRule> all() {
        return List.of(
                new FieldTypeRule(),
                new StaticFieldRule(),
                new RankRule(),
                new AlphaRule(),
                new DropoutRule(),
                new PissaNiterRule(),
                new AdapterNameRule());
    }
}
