package dev.lora4j.processor;

import dev.lora4j.api.LoraIndex;
import dev.lora4j.processor.internal.FieldRule;
import dev.lora4j.processor.internal.LoraField;
import dev.lora4j.processor.internal.Messages;
import dev.lora4j.processor.internal.Reporter;
import dev.lora4j.processor.internal.Rules;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
import javax.tools.FileObject;
import javax.tools.StandardLocation;

/**
 * Compile-time checks of {@link dev.lora4j.api.LoRA @LoRA} fields, and the {@link LoraIndex index}
 * the agent reads.
 *
 * <p>Every annotated field is checked against every rule (rank, alpha, dropout, field type, static,
 * adapter name); all violations in all files are reported as errors pinned to the annotation (or the
 * offending attribute). When the compilation had no such errors, the final round writes
 * {@value LoraIndex#RESOURCE} to the class output, listing each class with {@code @LoRA} fields.
 *
 * <p>Registered in {@code META-INF/services/javax.annotation.processing.Processor}, so putting this
 * jar on the annotation processor path ({@code javac -processorpath}, or Maven's
 * {@code annotationProcessorPaths}) or on the compile classpath is enough.
 */
@SupportedAnnotationTypes(LoraProcessor.ANNOTATION)
public final class LoraProcessor extends AbstractProcessor {

    /** Qualified name of the annotation this processor handles. */
    public static final String ANNOTATION = "dev.lora4j.api.LoRA";

    private final Map<String, List<String>> index = new TreeMap<>();
    private final List<FieldRule> rules = Rules.all();
    private Reporter reporter;
    private boolean indexWritten;

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
        if (round.processingOver() && !indexWritten && !index.isEmpty() && !reporter.hasErrors()) {
            writeIndex();
        }
        // @LoRA belongs to lora4j: claim it (no "not claimed" lint warning under -Xlint:processing)
        return true;
    }

    /** Checks every annotated field of {@code owner} and records them, in declaration order. */
    private void checkClass(TypeElement owner, TypeElement lora) {
        List<String> names = new ArrayList<>();
        for (VariableElement field : ElementFilter.fieldsIn(owner.getEnclosedElements())) {
            AnnotationMirror annotation = find(field, lora);
            if (annotation == null) {
                continue;
            }
            LoraField loraField = new LoraField(field, annotation, processingEnv.getElementUtils());
            for (FieldRule rule : rules) {
                rule.check(loraField, reporter);
            }
            names.add(field.getSimpleName().toString());
        }
        if (!names.isEmpty()) {
            String binaryName = processingEnv.getElementUtils().getBinaryName(owner).toString();
            index.merge(binaryName, names, (a, b) -> {
                List<String> merged = new ArrayList<>(a);
                b.stream().filter(n -> !merged.contains(n)).forEach(merged::add);
                return merged;
            });
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

    private void writeIndex() {
        indexWritten = true;
        try {
            FileObject file = processingEnv.getFiler()
                    .createResource(StandardLocation.CLASS_OUTPUT, "", LoraIndex.RESOURCE);
            try (OutputStream out = file.openOutputStream()) {
                out.write(LoraIndex.format(index).getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException | RuntimeException e) {
            reporter.error(Messages.indexNotWritten(LoraIndex.RESOURCE, String.valueOf(e.getMessage())));
        }
    }
}
