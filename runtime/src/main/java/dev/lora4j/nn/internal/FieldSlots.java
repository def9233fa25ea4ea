package dev.lora4j.nn.internal;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleSlot;
import dev.lora4j.nn.Parameter;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * Finds a module's parameters and children in its fields: a field holding a {@link Parameter}, a
 * {@link Module}, an array or {@link List} of modules, or a {@link Map} from names to modules.
 * Static and {@code transient} fields are skipped. The field list of each class is computed once.
 */
public final class FieldSlots {

    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            Class<?> superclass = type.getSuperclass();
            if (superclass != null && superclass != Object.class) {
                fields.addAll(get(superclass));
            }
            for (Field field : type.getDeclaredFields()) {
                int modifiers = field.getModifiers();
                if (Modifier.isStatic(modifiers) || Modifier.isTransient(modifiers) || field.isSynthetic()) {
                    continue;
                }
                if (isCandidate(field.getType())) {
                    try {
                        field.setAccessible(true);
                    } catch (InaccessibleObjectException e) {
                        throw new IllegalStateException("cannot read field " + type.getName() + "#" + field.getName()
                                + " of a module: open its package to lora4j", e);
                    }
                    fields.add(field);
                }
            }
            return List.copyOf(fields);
        }
    };

    private FieldSlots() {}

    private static boolean isCandidate(Class<?> type) {
        return Parameter.class.isAssignableFrom(type)
                || type.isAssignableFrom(Parameter.class) && type != Object.class
                || Module.class.isAssignableFrom(type)
                || type.isArray() && Module.class.isAssignableFrom(type.getComponentType())
                || List.class.isAssignableFrom(type)
                || Map.class.isAssignableFrom(type);
    }

    /** Reports each parameter held directly in a field of {@code owner}. */
    public static void parameters(Module owner, BiConsumer<String, Parameter> visitor) {
        for (Field field : FIELDS.get(owner.getClass())) {
            Object value = read(owner, field);
            if (value instanceof Parameter parameter) {
                visitor.accept(field.getName(), parameter);
            }
        }
    }

    /** Lists the slots of the children of {@code owner}, in field order. */
    public static List<ModuleSlot> children(Module owner) {
        List<ModuleSlot> slots = new ArrayList<>();
        for (Field field : FIELDS.get(owner.getClass())) {
            Object value = read(owner, field);
            if (value instanceof Module) {
                slots.add(new FieldSlot(owner, field));
            } else if (value != null && value.getClass().isArray()
                    && Module.class.isAssignableFrom(value.getClass().getComponentType())) {
                for (int i = 0; i < Array.getLength(value); i++) {
                    if (Array.get(value, i) != null) {
                        slots.add(new ArraySlot(field, value, i));
                    }
                }
            } else if (value instanceof List<?> list) {
                for (int i = 0; i < list.size(); i++) {
                    if (list.get(i) instanceof Module) {
                        slots.add(new ListSlot(field, list, i));
                    }
                }
            } else if (value instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if (entry.getKey() instanceof String key && entry.getValue() instanceof Module) {
                        slots.add(new MapSlot(field, map, key));
                    }
                }
            }
        }
        return slots;
    }

    private static @Nullable Object read(Object owner, Field field) {
        try {
            return field.get(owner);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read " + field.getDeclaringClass().getName() + "#" + field.getName(), e);
        }
    }

    private static String where(Field field) {
        return field.getDeclaringClass().getName() + "#" + field.getName();
    }

    private record FieldSlot(Object owner, Field field) implements ModuleSlot {
        @Override
        public String name() {
            return field.getName();
        }

        @Override
        public Module get() {
            return (Module) read(owner, field);
        }

        @Override
        public void set(Module replacement) {
            if (!field.getType().isInstance(replacement)) {
                throw new IllegalArgumentException("cannot put a " + replacement.getClass().getSimpleName()
                        + " into " + where(field) + " of type " + field.getType().getSimpleName());
            }
            try {
                field.set(owner, replacement);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot write " + where(field)
                        + " (a final field of a record or hidden class cannot be replaced)", e);
            }
        }
    }

    private record ArraySlot(Field field, Object array, int index) implements ModuleSlot {
        @Override
        public String name() {
            return field.getName() + "." + index;
        }

        @Override
        public Module get() {
            return (Module) Array.get(array, index);
        }

        @Override
        public void set(Module replacement) {
            try {
                Array.set(array, index, replacement);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot put a " + replacement.getClass().getSimpleName()
                        + " into " + where(field) + "[" + index + "]", e);
            }
        }
    }

    private record ListSlot(Field field, List<?> list, int index) implements ModuleSlot {
        @Override
        public String name() {
            return field.getName() + "." + index;
        }

        @Override
        public Module get() {
            return (Module) list.get(index);
        }

        @Override
        @SuppressWarnings("unchecked")
        public void set(Module replacement) {
            try {
                ((List<Object>) list).set(index, replacement);
            } catch (UnsupportedOperationException e) {
                throw new IllegalStateException(where(field) + " is an unmodifiable list; use a mutable list"
                        + " (e.g. ArrayList) for modules that get adapters", e);
            }
        }
    }

    private record MapSlot(Field field, Map<?, ?> map, String key) implements ModuleSlot {
        @Override
        public String name() {
            return field.getName() + "." + key;
        }

        @Override
        public Module get() {
            return (Module) map.get(key);
        }

        @Override
        @SuppressWarnings("unchecked")
        public void set(Module replacement) {
            try {
                ((Map<String, Object>) map).put(key, replacement);
            } catch (UnsupportedOperationException e) {
                throw new IllegalStateException(where(field) + " is an unmodifiable map; use a mutable map"
                        + " for modules that get adapters", e);
            }
        }
    }
}
