package dev.lora4j.lora.internal;

import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.api.LoRA;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Attaches adapters to the {@code @LoRA} fields of one object, through reflection. The agent
 * calls {@link #injectOwnFields} when a constructor of an annotated class finishes;
 * {@code Lora.inject(model)} calls {@link #injectTree} on a whole model without an agent. Both
 * end in {@link AdapterInjector#attach}, and both are idempotent: a layer that already has the
 * named adapter is left alone.
 */
public final class AnnotationInjector {

    private static final ClassValue<List<Field>> ANNOTATED = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                for (Field field : c.getDeclaredFields()) {
                    if (field.isAnnotationPresent(LoRA.class)) {
                        if (Modifier.isStatic(field.getModifiers())) {
                            throw new IllegalArgumentException("@LoRA on static field " + where(field)
                                    + ": adapters belong to instances, annotate an instance field");
                        }
                        try {
                            field.setAccessible(true);
                        } catch (InaccessibleObjectException e) {
                            throw new IllegalStateException("cannot read @LoRA field " + where(field)
                                    + ": open its package to lora4j", e);
                        }
                        fields.add(field);
                    }
                }
            }
            return List.copyOf(fields);
        }
    };

    private AnnotationInjector() {}

    /** Whether {@code type} or a superclass declares a {@code @LoRA} field. */
    public static boolean isAnnotated(Class<?> type) {
        return !ANNOTATED.get(type).isEmpty();
    }

    /**
     * Attaches adapters to the {@code @LoRA} fields of {@code owner} (declared in its class or a
     * superclass) and freezes the base weights of the layers it adapts. Fields still null are
     * skipped; a later call fills them in.
     *
     * @return the number of adapters attached by this call
     */
    public static int injectOwnFields(Object owner) {
        int attached = 0;
        for (Field field : ANNOTATED.get(owner.getClass())) {
            LoRA annotation = field.getAnnotation(LoRA.class);
            AdapterSettings spec = spec(annotation, field);
            Object value = read(owner, field);
            List<Module> layers = layersIn(value, field);
            for (int i = 0; i < layers.size(); i++) {
                Module layer = layers.get(i);
                String where = owner.getClass().getName() + "#" + field.getName() + (isMany(value) ? "[" + i + "]" : "");
                if (hasAdapter(layer, annotation.adapter())) {
                    continue;
                }
                layer.freeze();
                AdapterInjector.attach(layer, where, annotation.adapter(), spec, Init.random());
                attached++;
            }
        }
        return attached;
    }

    /**
     * Attaches adapters to every {@code @LoRA} field in the module tree below {@code root}.
     *
     * @return the number of adapters attached by this call
     */
    public static int injectTree(Module root) {
        int attached = 0;
        for (Module module : root.namedModules().values()) {
            attached += injectOwnFields(module);
        }
        return attached;
    }

    private static AdapterSettings spec(LoRA annotation, Field field) {
        try {
            return AdapterSettings.of(annotation);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("@LoRA on " + where(field) + ": " + e.getMessage(), e);
        }
    }

    private static boolean hasAdapter(Module layer, String adapter) {
        LoraLayer lora = layer instanceof AdaptableLayer<?> adaptable ? LoraLayers.of(adaptable) : null;
        return lora != null && lora.adapter(adapter) != null;
    }

    private static boolean isMany(@Nullable Object value) {
        return value != null && (value.getClass().isArray() || value instanceof Iterable<?>);
    }

    private static List<Module> layersIn(@Nullable Object value, Field field) {
        List<Module> layers = new ArrayList<>();
        if (value == null) {
            return layers;
        }
        if (value instanceof Module module) {
            layers.add(module);
        } else if (value.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(value); i++) {
                addLayer(layers, Array.get(value, i), field);
            }
        } else if (value instanceof Iterable<?> iterable) {
            for (Object element : iterable) {
                addLayer(layers, element, field);
            }
        } else {
            throw new IllegalArgumentException("@LoRA on " + where(field) + ": a " + value.getClass().getName()
                    + " cannot be adapted; annotate a Linear, Embedding or Conv2d field, or an array or List of them");
        }
        return layers;
    }

    private static void addLayer(List<Module> layers, @Nullable Object element, Field field) {
        if (element == null) {
            return;
        }
        if (!(element instanceof Module module)) {
            throw new IllegalArgumentException("@LoRA on " + where(field) + ": element of type "
                    + element.getClass().getName() + " cannot be adapted");
        }
        layers.add(module);
    }

    private static Object read(Object owner, Field field) {
        try {
            return field.get(owner);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read " + where(field), e);
        }
    }

    private static String where(Field field) {
        return field.getDeclaringClass().getName() + "#" + field.getName();
    }
}
