package dev.lora4j.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static com.google.testing.compile.Compiler.javac;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import javax.annotation.processing.Processor;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoraProcessorTest {

    private static final JavaFileObject MODULE = JavaFileObjects.forSourceLines(
            "dev.lora4j.nn.Module", "package dev.lora4j.nn;", "public abstract class Module {}");
    private static final JavaFileObject LINEAR = JavaFileObjects.forSourceLines(
            "dev.lora4j.nn.Linear", "package dev.lora4j.nn;", "public class Linear extends Module {}");
    private static final JavaFileObject EMBEDDING = JavaFileObjects.forSourceLines(
            "dev.lora4j.nn.Embedding", "package dev.lora4j.nn;", "public class Embedding extends Module {}");
    private static final JavaFileObject CONV2D = JavaFileObjects.forSourceLines(
            "dev.lora4j.nn.Conv2d", "package dev.lora4j.nn;", "public class Conv2d extends Module {}");

    private static Compilation compile(JavaFileObject... sources) {
        JavaFileObject[] all = Stream.concat(Stream.of(MODULE, LINEAR, EMBEDDING, CONV2D), Stream.of(sources))
                .toArray(JavaFileObject[]::new);
        return javac().withProcessors(new LoraProcessor()).compile(all);
    }

    /** A class com.x.Model whose line 5 is {@code fieldLine}. */
    private static JavaFileObject model(String fieldLine) {
        return JavaFileObjects.forSourceLines("com.x.Model",
                "package com.x;",                         // 1
                "import dev.lora4j.api.LoRA;",            // 2
                "import dev.lora4j.nn.Embedding; import dev.lora4j.nn.Linear; import dev.lora4j.nn.Module;",                // 3
                "public class Model extends Module {",    // 4
                fieldLine,                                // 5
                "}");                                     // 6
    }

    private static void assertSingleError(String fieldLine, String message) {
        JavaFileObject source = model(fieldLine);
        Compilation c = compile(source);
        assertThat(c).failed();
        assertThat(c).hadErrorCount(1);
        assertThat(c).hadErrorContaining(message).inFile(source).onLine(5);
    }

    // ---- rules ----

    @Test
    void rankBelowOne() {
        assertSingleError("  @LoRA(rank = 0) Linear q;", "@LoRA on com.x.Model#q: rank must be at least 1, got 0");
        assertSingleError("  @LoRA(rank = -3) Linear q;", "rank must be at least 1, got -3");
    }

    @Test
    void alphaNotPositive() {
        assertSingleError("  @LoRA(alpha = 0) Linear q;",
                "@LoRA on com.x.Model#q: alpha must be a finite number greater than 0 (or left unset to use the rank), got 0.0");
        assertSingleError("  @LoRA(alpha = -2.5) Linear q;", "alpha must be a finite number greater than 0");
        assertSingleError("  @LoRA(alpha = Double.POSITIVE_INFINITY) Linear q;", "got Infinity");
        assertSingleError("  @LoRA(alpha = 1.0 / 0) Linear q;", "got Infinity");
    }

    @Test
    void alphaNaNMeansUnset() {
        assertThat(compile(model("  @LoRA(alpha = Double.NaN) Linear q;"))).succeededWithoutWarnings();
        assertThat(compile(model("  @LoRA(alpha = LoRA.ALPHA_SAME_AS_RANK) Linear q;"))).succeededWithoutWarnings();
    }

    @Test
    void dropoutOutOfRange() {
        assertSingleError("  @LoRA(dropout = 1.0) Linear q;",
                "@LoRA on com.x.Model#q: dropout must be in [0, 1), got 1.0");
        assertSingleError("  @LoRA(dropout = -0.1) Linear q;", "dropout must be in [0, 1), got -0.1");
        assertSingleError("  @LoRA(dropout = Double.NaN) Linear q;", "dropout must be in [0, 1), got NaN");
        assertThat(compile(model("  @LoRA(dropout = 0.999) Linear q;"))).succeededWithoutWarnings();
    }

    @Test
    void pissaNiter() {
        assertSingleError("  @LoRA(init = dev.lora4j.api.LoraInit.PISSA, pissaNiter = -2) Linear q;",
                "@LoRA on com.x.Model#q: pissaNiter must be -1 (PiSSA with the exact SVD) or a number of subspace"
                        + " iterations of at least 0, got -2");
        assertSingleError("  @LoRA(init = dev.lora4j.api.LoraInit.OLORA, pissaNiter = 4) Linear q;",
                "@LoRA on com.x.Model#q: pissaNiter = 4 needs init = LoraInit.PISSA (it sets the iterations of"
                        + " PiSSA's randomized SVD), got init = LoraInit.OLORA");
        assertSingleError("  @LoRA(pissaNiter = 0) Linear q;", "got init = LoraInit.KAIMING_UNIFORM");
        assertThat(compile(model("  @LoRA(init = dev.lora4j.api.LoraInit.PISSA, pissaNiter = 0) Linear q;")))
                .succeededWithoutWarnings();
        assertThat(compile(model("  @LoRA(init = dev.lora4j.api.LoraInit.PISSA) Linear q;"))).succeededWithoutWarnings();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "int", "java.lang.String", "dev.lora4j.nn.Module", "java.util.List", "java.util.List<java.lang.String>",
        "java.util.List<dev.lora4j.nn.Module>", "java.util.List<? super dev.lora4j.nn.Linear>",
        "java.util.List<?>", "java.util.ArrayList<dev.lora4j.nn.Linear>", "dev.lora4j.nn.Linear[][]",
        "java.util.Map<java.lang.String,dev.lora4j.nn.Linear>", "java.lang.Object"
    })
    void typeThatCannotBeAdapted(String type) {
        assertSingleError("  @LoRA " + type + " q;",
                "@LoRA on com.x.Model#q: field type " + type + " cannot be adapted; allowed are "
                        + "dev.lora4j.nn.Linear, dev.lora4j.nn.Embedding, dev.lora4j.nn.Conv2d (or a subclass), "
                        + "an array of one, or a List, Collection or Iterable of one");
    }

    @Test
    void staticField() {
        assertSingleError("  @LoRA static Linear q;",
                "@LoRA on com.x.Model#q: field must not be static; adapters belong to each instance");
    }

    @Test
    void adapterName() {
        assertSingleError("  @LoRA(adapter = \"\") Linear q;",
                "@LoRA on com.x.Model#q: adapter name must not be empty or blank, got \"\"");
        assertSingleError("  @LoRA(adapter = \"  \") Linear q;", "adapter name must not be empty or blank, got \"  \"");
        assertSingleError("  @LoRA(adapter = \"a.b\") Linear q;",
                "@LoRA on com.x.Model#q: adapter name must not contain '.' or '/'");
        assertSingleError("  @LoRA(adapter = \"x/y\") Linear q;", "got \"x/y\" containing '/'");
    }

    @Test
    void errorIsPinnedToTheAnnotationLineNotTheFieldLine() {
        JavaFileObject source = JavaFileObjects.forSourceLines("com.x.Model",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "import dev.lora4j.nn.Embedding; import dev.lora4j.nn.Linear; import dev.lora4j.nn.Module;",
                "public class Model {",
                "  @LoRA(",
                "      rank = 4,",
                "      dropout = 2.0)",
                "  Linear q;",
                "}");
        Compilation c = compile(source);
        assertThat(c).hadErrorCount(1);
        assertThat(c).hadErrorContaining("dropout must be in [0, 1), got 2.0").inFile(source).onLine(7);
    }

    @Test
    void reportsEveryErrorInEveryFile() {
        JavaFileObject first = JavaFileObjects.forSourceLines("com.x.First",
                "package com.x;",                                               // 1
                "import dev.lora4j.api.LoRA;",                                  // 2
                "import dev.lora4j.nn.Embedding; import dev.lora4j.nn.Linear; import dev.lora4j.nn.Module;",                                      // 3
                "public class First {",                                         // 4
                "  @LoRA(rank = 0, alpha = -1, dropout = 1.5, adapter = \"\")", // 5
                "  static String bad;",                                         // 6
                "  @LoRA(rank = 0) Linear alsoBad;",                            // 7
                "  @LoRA Linear fine;",                                         // 8
                "}");
        JavaFileObject second = JavaFileObjects.forSourceLines("com.y.Second",
                "package com.y;",
                "import dev.lora4j.api.LoRA;",
                "public class Second {",
                "  @LoRA(adapter = \"a.b\") dev.lora4j.nn.Embedding e;",      // 4
                "}");
        Compilation c = compile(first, second);
        assertThat(c).failed();
        assertThat(c).hadErrorCount(8);
        assertThat(c).hadErrorContaining("com.x.First#bad: field type java.lang.String cannot be adapted")
                .inFile(first).onLine(5);
        assertThat(c).hadErrorContaining("com.x.First#bad: field must not be static").inFile(first).onLine(5);
        assertThat(c).hadErrorContaining("com.x.First#bad: rank must be at least 1, got 0").inFile(first).onLine(5);
        assertThat(c).hadErrorContaining("com.x.First#bad: alpha must be").inFile(first).onLine(5);
        assertThat(c).hadErrorContaining("com.x.First#bad: dropout must be in [0, 1), got 1.5").inFile(first).onLine(5);
        assertThat(c).hadErrorContaining("com.x.First#bad: adapter name must not be empty").inFile(first).onLine(5);
        assertThat(c).hadErrorContaining("com.x.First#alsoBad: rank must be at least 1, got 0").inFile(first).onLine(7);
        assertThat(c).hadErrorContaining("com.y.Second#e: adapter name must not contain").inFile(second).onLine(4);
    }

    @Test
    void unresolvedTypeIsLeftToJavac() {
        JavaFileObject source = model("  @LoRA NoSuchLayer q;");
        Compilation c = compile(source);
        assertThat(c).failed();
        assertThat(c).hadErrorCount(1);
        assertThat(c).hadErrorContaining("cannot find symbol").inFile(source).onLine(5);
    }

    // ---- accepted models ----

    @Test
    void validModelCompilesCleanlyIntoClassFilesOnly() {
        JavaFileObject model = JavaFileObjects.forSourceLines("com.x.Model",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "import dev.lora4j.api.LoraInit;",
                "import dev.lora4j.nn.Embedding; import dev.lora4j.nn.Linear; import dev.lora4j.nn.Module;",
                "import java.util.*;",
                "public class Model extends Module {",
                "  @LoRA(rank = 8, alpha = 16) Linear query;",
                "  Linear key;",
                "  @LoRA(rank = 1, alpha = 0.5, dropout = 0.1, rslora = true, init = LoraInit.GAUSSIAN,",
                "        adapter = \"task-a_2\") Linear value;",
                "  @LoRA(dora = true) Embedding tokens;",
                "  @LoRA(rank = 4, dora = true) Linear output;",
                "  @LoRA(rank = 2, init = LoraInit.PISSA, pissaNiter = 4) Linear pissa;",
                "  @LoRA(rank = 2, init = LoraInit.OLORA) Linear olora;",
                "  @LoRA Linear[] heads;",
                "  @LoRA List<Linear> layers = new ArrayList<>();",
                "  @LoRA Collection<? extends Linear> more;",
                "  @LoRA Iterable<Embedding> tables;",
                "  @LoRA final Linear finalOne = new Linear();",
                "  public static class Block extends Module {",
                "    @LoRA Linear proj;",
                "  }",
                "  class Inner { @LoRA Linear a; @LoRA Linear b; }",
                "}");
        JavaFileObject other = JavaFileObjects.forSourceLines("com.a.Other",
                "package com.a;",
                "public class Other {",
                "  @dev.lora4j.api.LoRA dev.lora4j.nn.Linear z;",
                "  @dev.lora4j.api.LoRA dev.lora4j.nn.Linear y;",
                "}");
        JavaFileObject plain = JavaFileObjects.forSourceLines("com.a.Plain",
                "package com.a;", "public class Plain { dev.lora4j.nn.Linear notAnnotated; }");
        Compilation c = compile(model, other, plain);
        assertThat(c).succeededWithoutWarnings();
        // the processor checks and writes nothing: javac's class files are all the output
        assertTrue(c.generatedFiles().stream().allMatch(f -> f.getKind() == JavaFileObject.Kind.CLASS),
                () -> c.generatedFiles().toString());
        assertTrue(c.generatedFiles().stream().anyMatch(f -> f.getName().endsWith("Model$Inner.class")));
    }

    @Test
    void convolutionFieldsAreAccepted() {
        JavaFileObject cnn = JavaFileObjects.forSourceLines("com.x.Cnn",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "import dev.lora4j.nn.Conv2d; import dev.lora4j.nn.Module;",
                "import java.util.List;",
                "public class Cnn extends Module {",
                "  @LoRA(rank = 4, alpha = 8) Conv2d stem;",
                "  Conv2d frozen;",
                "  @LoRA Conv2d[] stages;",
                "  @LoRA List<? extends Conv2d> blocks;",
                "}");
        JavaFileObject sub = JavaFileObjects.forSourceLines("com.x.DepthwiseConv",
                "package com.x;", "public class DepthwiseConv extends dev.lora4j.nn.Conv2d {}");
        JavaFileObject user = JavaFileObjects.forSourceLines("com.x.UsesSub",
                "package com.x;", "public class UsesSub { @dev.lora4j.api.LoRA DepthwiseConv dw; }");
        Compilation c = compile(cnn, sub, user);
        assertThat(c).succeededWithoutWarnings();
    }

    @Test
    void subclassesAndBoundedTypeVariablesAreAccepted() {
        JavaFileObject sub = JavaFileObjects.forSourceLines("com.x.MyLinear",
                "package com.x;", "public class MyLinear extends dev.lora4j.nn.Linear {}");
        JavaFileObject subSub = JavaFileObjects.forSourceLines("com.x.MyLinear2",
                "package com.x;", "public class MyLinear2 extends MyLinear {}");
        JavaFileObject model = JavaFileObjects.forSourceLines("com.x.Model",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "import java.util.List;",
                "public class Model<T extends dev.lora4j.nn.Embedding> {",
                "  @LoRA MyLinear a;",
                "  @LoRA MyLinear2 b;",
                "  @LoRA MyLinear2[] c;",
                "  @LoRA List<? extends MyLinear> d;",
                "  @LoRA T e;",
                "  @LoRA List<T> f;",
                "}");
        Compilation c = compile(sub, subSub, model);
        assertThat(c).succeededWithoutWarnings();
    }

    @Test
    void interfaceConstantIsStatic() {
        JavaFileObject source = JavaFileObjects.forSourceLines("com.x.Holder",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "public interface Holder {",
                "  @LoRA dev.lora4j.nn.Linear SHARED = new dev.lora4j.nn.Linear();",
                "}");
        Compilation c = compile(source);
        assertThat(c).hadErrorCount(1);
        assertThat(c).hadErrorContaining("com.x.Holder#SHARED: field must not be static").inFile(source).onLine(4);
    }

    @Test
    void registeredAsService() {
        assertTrue(ServiceLoader.load(Processor.class, getClass().getClassLoader()).stream()
                .anyMatch(p -> p.type() == LoraProcessor.class));
    }
}
