package dev.lora4j.lora;

/** How adapters are folded into the base weights. */
@FunctionalInterface
public interface MergeStrategy {

    /** Merges the active adapters of {@code model}. */
    void merge(LoraModel<?> model);

    /** Refuses (leaving the model unchanged) when a merged weight would be NaN or infinite. */
    static MergeStrategy safe() {
        return LoraModel::safeMerge;
    }

    /** Merges without checking the result. */
    static MergeStrategy plain() {
        return LoraModel::merge;
    }
}
