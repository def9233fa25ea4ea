package dev.lora4j.processor.internal;

import java.util.List;
import java.util.Set;
import javax.lang.model.element.Element;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.ArrayType;
import javax.lang.model.type.DeclaredType;
import javax.lang.model.type.IntersectionType;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.lang.model.type.TypeVariable;
import javax.lang.model.type.WildcardType;

/**
 * Which field types can carry a LoRA adapter, decided by qualified name so the processor does not
 * depend on the runtime: a layer type (or a subclass of one), a one-dimensional array of one, or a
 * {@code List}, {@code Collection} or {@code Iterable} of one (also {@code ? extends} one).
 */
public final class LayerTypes {

    /** The runtime's layer classes that can be adapted. */
    public static final List<String> LAYERS =
            List.of("dev.lora4j.nn.Linear", "dev.lora4j.nn.Embedding", "dev.lora4j.nn.Conv2d");

    /** The container interfaces a field may hold layers in. */
    public static final Set<String> CONTAINERS =
            Set.of("java.util.List", "java.util.Collection", "java.lang.Iterable");

    /** Outcome of a type check. */
    public enum Verdict {
        /** The type can be adapted. */
        ADAPTABLE,
        /** The type cannot be adapted. */
        NOT_ADAPTABLE,
        /** The type did not resolve; javac reports that itself. */
        UNKNOWN
    }

    private LayerTypes() {}

    /** Whether a field of type {@code type} can be adapted. */
    public static Verdict check(TypeMirror type) {
        if (containsError(type)) {
            return Verdict.UNKNOWN;
        }
        if (isLayer(type)) {
            return Verdict.ADAPTABLE;
        }
        if (type instanceof ArrayType array) {
            return isLayer(array.getComponentType()) ? Verdict.ADAPTABLE : Verdict.NOT_ADAPTABLE;
        }
        if (type instanceof DeclaredType declared
                && declared.asElement() instanceof TypeElement element
                && CONTAINERS.contains(element.getQualifiedName().toString())
                && declared.getTypeArguments().size() == 1) {
            TypeMirror arg = declared.getTypeArguments().get(0);
            if (arg instanceof WildcardType wildcard) {
                arg = wildcard.getExtendsBound();
            }
            return arg != null && isLayer(arg) ? Verdict.ADAPTABLE : Verdict.NOT_ADAPTABLE;
        }
        return Verdict.NOT_ADAPTABLE;
    }

    /** Whether {@code type} is a layer type, a subclass of one, or a type variable bounded by one. */
    static boolean isLayer(TypeMirror type) {
        if (type instanceof TypeVariable variable) {
            return isLayer(variable.getUpperBound());
        }
        if (type instanceof IntersectionType intersection) {
            return intersection.getBounds().stream().anyMatch(LayerTypes::isLayer);
        }
        if (!(type instanceof DeclaredType declared)) {
            return false;
        }
        Element element = declared.asElement();
        while (element instanceof TypeElement typeElement) {
            if (LAYERS.contains(typeElement.getQualifiedName().toString())) {
                return true;
            }
            TypeMirror superclass = typeElement.getSuperclass();
            if (!(superclass instanceof DeclaredType superDeclared)) {
                return false;
            }
            element = superDeclared.asElement();
        }
        return false;
    }

    private static boolean containsError(TypeMirror type) {
        if (type == null) {
            return false;
        }
        if (type.getKind() == TypeKind.ERROR) {
            return true;
        }
        if (type instanceof ArrayType array) {
            return containsError(array.getComponentType());
        }
        if (type instanceof WildcardType wildcard) {
            return containsError(wildcard.getExtendsBound()) || containsError(wildcard.getSuperBound());
        }
        if (type instanceof DeclaredType declared) {
            for (TypeMirror arg : declared.getTypeArguments()) {
                if (containsError(arg)) {
                    return true;
                }
            }
            Element element = declared.asElement();
            while (element instanceof TypeElement typeElement) {
                TypeMirror superclass = typeElement.getSuperclass();
                if (superclass.getKind() == TypeKind.ERROR) {
                    return true;
                }
                element = superclass instanceof DeclaredType d ? d.asElement() : null;
            }
        }
        return false;
    }
}
