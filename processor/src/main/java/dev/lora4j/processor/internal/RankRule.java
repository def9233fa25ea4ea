package dev.lora4j.processor.internal;

/** {@code rank} must be at least 1. */
public final class RankRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        if (field.value("rank") instanceof Integer rank && rank < 1) {
            reporter.error(field, "rank", Messages.rankTooSmall(field.where(), rank));
        }
    }
}
