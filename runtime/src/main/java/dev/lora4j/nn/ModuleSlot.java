package dev.lora4j.nn;

import java.lang.reflect.Field;

/**
 * The place where a child module lives inside its parent: a field, an array element, a list
 * element or a map entry. Adapter injection reads and replaces children through slots.
 */
public interface ModuleSlot {

    /** The child's name relative to its parent, e.g. {@code q} or {@code blocks.3}. */
    String name();

    /** The child now in the slot. */
    Module get();

    /** Puts another module in the slot; it must fit the slot's declared type. */
    void set(Module replacement);

    /** The field that holds the child (or the array, list or map holding it). */
    Field field();
}
