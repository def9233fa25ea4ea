package dev.lora4j.processor;

import dev.lora4j.processor.internal.FieldRule;
import dev.lora4j.processor.internal.LoraField;
import dev.lora4j.processor.internal.Reporter;
import dev.lora4j.processor.internal.Rules;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.ProcessingEnvironment;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.Element;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.util.ElementFilter;

/**
 * Compile-time checks of {@link dev.lora4j.api.LoRA @LoRA} fields.
 *
 * <p>Every annotated field is checked against every rule (rank, alpha, dropout, field type, static,
 * adapter name); all violations in all files are reported as errors pinned to the annotation (or the
 * offending attribute). The processor writes nothing: the agent finds annotated classes from their
 * class files as they load (an index of them was measured to save no time, and Kotlin classes,
 * which this processor does not see, need that path anyway).
 *
 * <p>Registered in {@code META-INF/services/javax.annotation.processing.Processor}, so putting this
 * jar on the annotation processor path ({@code javac -processorpath}, or Maven's
 * {@code annotationProcessorPaths}) or on the compile classpath is enough.
 */
@SupportedAnnotationTypes(LoraProcessor.ANNOTATION)
public final class LoraProcessor extends AbstractProcessor {

    /** Qualified name of the annotation this processor handles. */
    public static final String ANNOTATION = "dev.lora4j.api.LoRA";

    private final List<FieldRule> rules = Rules.all();
    private Reporter reporter;

    /** Creates the processor; javac does this through the service loader. */
    public LoraProcessor() {}

    @Override
    public synchronized void init(ProcessingEnvironment processingEnv) {
        super.init(processingEnv);
        reporter = new Reporter(processingEnv.getMessager());
    }

    @Override
    public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        TypeElement lora = processingEnv.getElementUtils().getTypeElement(ANNOTATION);
        if (lora != null) {
            Set<TypeElement> owners = new LinkedHashSet<>();
            for (Element element : round.getElementsAnnotatedWith(lora)) {
                if (element.getEnclosingElement() instanceof TypeElement owner) {
                    owners.add(owner);
                }
            }
            for (TypeElement owner : owners) {
                checkClass(owner, lora);
            }
        }
        // @LoRA belongs to lora4j: claim it (no "not claimed" lint warning under -Xlint:processing)
        return true;
    }

    /** Checks every annotated field of {@code owner} against every rule. */
    private void checkClass(TypeElement owner, TypeElement lora) {
        for (VariableElement field : ElementFilter.fieldsIn(owner.getEnclosedElements())) {
            AnnotationMirror annotation = find(field, lora);
            if (annotation == null) {
                continue;
            }
            LoraField loraField = new LoraField(field, annotation, processingEnv.getElementUtils());
            for (FieldRule rule : rules) {
                rule.check(loraField, reporter);
            }
        }
    }

    private AnnotationMirror find(VariableElement field, TypeElement lora) {
        for (AnnotationMirror mirror : field.getAnnotationMirrors()) {
            if (processingEnv.getTypeUtils().isSameType(mirror.getAnnotationType(), lora.asType())) {
                return mirror;
            }
        }
        return null;
    }
}
