package dev.lora4j.processor.internal;

/** One validation rule for a {@code @LoRA} field; reports every violation it finds. */
public interface FieldRule {

    /** Checks {@code field}, reporting violations to {@code reporter}. */
    void check(LoraField field, Reporter reporter);
}
