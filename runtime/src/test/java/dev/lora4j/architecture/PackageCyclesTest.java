package dev.lora4j.architecture;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * The runtime's packages form no dependency cycle: each top-level package ({@code dev.lora4j.X}
 * with its {@code .internal} and other subpackages) and the root package ({@code Lora},
 * {@code NativeThreads}) is one slice, and no slice reaches itself through others. ArchUnit reads
 * the class files, so generic signatures, inner classes and lambdas count as dependencies.
 */
class PackageCyclesTest {

    private static final String ROOT = "dev.lora4j";

    private static final JavaClasses RUNTIME = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(ROOT);

    /** {@code dev.lora4j.lora.internal.X} → {@code lora}; {@code dev.lora4j.Lora} → {@code (root)}. */
    private static final SliceAssignment TOP_LEVEL_PACKAGES = new SliceAssignment() {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
            String pkg = javaClass.getPackageName();
            if (pkg.equals(ROOT)) {
                return SliceIdentifier.of("(root)");
            }
            if (!pkg.startsWith(ROOT + ".")) {
                return SliceIdentifier.ignore();
            }
            String rest = pkg.substring(ROOT.length() + 1);
            int dot = rest.indexOf('.');
            return SliceIdentifier.of(dot < 0 ? rest : rest.substring(0, dot));
        }

        @Override
        public String getDescription() {
            return "top-level packages of " + ROOT + " and the root package";
        }
    };

    @Test
    void noPackageCycles() {
        SlicesRuleDefinition.slices().assignedFrom(TOP_LEVEL_PACKAGES).should().beFreeOfCycles().check(RUNTIME);
    }

    @Test
    void theRuleSeesACycleWhereThereIsOne() {
        // nn → lora is a real dependency (LoRA's layers build on nn's); a class of nn that used one of
        // lora's would close a cycle. The rule must see slices and their dependencies at all:
        EvaluationResult result = SlicesRuleDefinition.slices().assignedFrom(TOP_LEVEL_PACKAGES)
                .should().notDependOnEachOther().evaluate(RUNTIME);
        String report = result.getFailureReport().toString();
        Assertions.assertTrue(report.contains("Slice lora") && report.contains("Slice nn"), report);
    }
}
