package dev.lora4j.processor.internal;

/**
 * The adapter name must not be empty or blank and must not contain {@code '.'} or {@code '/'}: it
 * becomes a module path segment and a folder name.
 */
public final class AdapterNameRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        if (!(field.value("adapter") instanceof String adapter)) {
            return;
        }
        if (adapter.isBlank()) {
            reporter.error(field, "adapter", Messages.adapterBlank(field.where(), adapter));
            return;
        }
        for (int i = 0; i < adapter.length(); i++) {
            char c = adapter.charAt(i);
            if (c == '.' || c == '/') {
                reporter.error(field, "adapter", Messages.adapterBadCharacter(field.where(), adapter, c));
                return;
            }
        }
    }
}
