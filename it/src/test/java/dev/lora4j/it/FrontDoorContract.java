package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.LoRA;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.internal.AnnotationInjector;
import dev.lora4j.io.AdapterException;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.samples.tiny.TinyLm;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One suite, three front doors: {@code -javaagent:} ({@link JavaagentDoorIT}), self-attach
 * ({@link SelfAttachDoorTest}) and {@code Lora.inject} without an agent ({@link InjectDoorTest}),
 * each in its own JVM. Whatever the door, a model ends up with the same adapters, the same
 * trainable parameters and the same training behaviour.
 */
abstract class FrontDoorContract {

    static final int VOCABULARY = 23;
    static final int DIM = 16;
    static final int HEADS = 2;
    static final int LAYERS = 2;
    static final int LENGTH = 6;
    static final int RANK = 4;

    static final List<String> ADAPTED = List.of(
            "blocks.0.attention.query", "blocks.0.attention.value",
            "blocks.1.attention.query", "blocks.1.attention.value");

    static final List<String> TRAINABLE = ADAPTED.stream()
            .flatMap(path -> Stream.of(path + ".lora_A.default.weight", path + ".lora_B.default.weight"))
            .toList();

    /** The door's name, printed with each test so the build log shows which door ran. */
    abstract String door();

    /** Whether constructors attach adapters (an agent runs in this JVM). */
    abstract boolean adaptsAtConstruction();

    /** What only this door can show: that it is the door it claims to be. */
    abstract void assertThisIsTheDoor();

    /** The classes the agent instrumented, or an empty set without an agent. */
    abstract Set<String> transformedClasses();

    /** Takes a freshly built model through this door. */
    <M extends Module> LoraModel<M> adapt(M model) {
        return adaptsAtConstruction() ? Lora.adopt(model) : Lora.inject(model);
    }

    @BeforeEach
    void seedAndAnnounce(org.junit.jupiter.api.TestInfo test) {
        Init.seed(1234);
        System.out.println("[front door: " + door() + "] " + test.getDisplayName());
    }

    static TinyLm newModel() {
        return new TinyLm(VOCABULARY, DIM, HEADS, LAYERS, LENGTH);
    }

    @Test
    void theDoorIsTheOneItClaims() {
        assertThisIsTheDoor();
    }

    @Test
    void constructorsAttachAdaptersExactlyWhenAnAgentRuns() {
        TinyLm model = newModel();
        assertEquals(adaptsAtConstruction() ? ADAPTED : List.of(), adaptedPaths(model), "right after new TinyLm(...)");
        adapt(model);
        assertEquals(ADAPTED, adaptedPaths(model));
    }

    @Test
    void adaptersSitExactlyOnTheAnnotatedFields() {
        LoraModel<TinyLm> lora = adapt(newModel());
        assertEquals(ADAPTED, List.copyOf(lora.layers().keySet()));
        for (String path : ADAPTED) {
            LoraAdapter adapter = lora.layers().get(path).adapter(LoraModel.DEFAULT_ADAPTER);
            assertEquals(RANK, adapter.spec().rank(), path);
            assertEquals(2.0, adapter.scaling(), 1e-12, path + ": alpha 8 / rank 4");
        }
    }

    @Test
    void trainableParametersAreTheAdapterFactorsAndCountRankTimesInPlusOut() {
        TinyLm model = newModel();
        LoraModel<TinyLm> lora = adapt(model);
        long expected = 0;
        for (Module layer : modules(model, ADAPTED)) {
            Linear linear = (Linear) layer;
            expected += (long) RANK * (linear.inFeatures() + linear.outFeatures());
        }
        assertEquals(4L * RANK * (DIM + DIM), expected);
        assertEquals(expected, model.trainableParameterCount(), "Σ r·(in+out)");
        assertEquals(expected, lora.summary().trainable());
        assertEquals(TRAINABLE, trainableNames(model), "the same names through every door");
        assertEquals(0, AnnotationInjector.injectTree(model), "injecting again adds nothing");
        assertEquals(TRAINABLE, trainableNames(Lora.inject(model).model()));
    }

    @Test
    void baseWeightsStayFrozenAndBitwiseUnchangedWhileTrainingLowersTheLoss() {
        TinyLm model = newModel();
        adapt(model);
        Map<String, float[]> frozenBefore = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (!p.isTrainable()) {
                frozenBefore.put(name, values(p));
            }
        });
        assertEquals(model.namedParameters().size() - TRAINABLE.size(), frozenBefore.size());

        Batch batch = Batch.fixed();
        List<Double> losses = new ArrayList<>();
        for (int step = 0; step < 6; step++) {
            Tensor loss = model.loss(batch.ids, batch.targets);
            loss.backward();
            model.namedParameters().forEach((name, p) ->
                    assertEquals(p.isTrainable(), p.grad() != null, name + ": gradient buffer only when trainable"));
            sgdStep(model, 0.5);
            losses.add(loss.item());
        }
        assertTrue(losses.get(losses.size() - 1) < losses.get(0) - 1e-3, "loss falls: " + losses);
        model.namedParameters().forEach((name, p) -> {
            if (frozenBefore.containsKey(name)) {
                assertArrayEquals(frozenBefore.get(name), values(p), name + " unchanged");
            }
        });
    }

    @Test
    void mergedAndUnmergedOutputsAgree() {
        TinyLm model = newModel();
        LoraModel<TinyLm> lora = adapt(model);
        Random random = new Random(99);
        for (String path : ADAPTED) {
            Parameter b = lora.layers().get(path).adapter(LoraModel.DEFAULT_ADAPTER).b();
            b.value().assign(Init.normal(random, 0.2, b.shape()));
        }
        model.eval();
        INDArray ids = Batch.fixed().ids;
        INDArray unmerged = model.forward(ids).value().dup();
        float[] baseQuery = values(((Linear) modules(model, List.of(ADAPTED.get(0))).get(0)).weight());
        lora.merge();
        INDArray merged = model.forward(ids).value().dup();
        double difference = Nd4j.math().abs(merged.sub(unmerged)).maxNumber().doubleValue();
        assertTrue(difference < 1e-5, "max |merged - unmerged| = " + difference);
        assertFalse(Arrays.equals(baseQuery, values(((Linear) modules(model, List.of(ADAPTED.get(0))).get(0)).weight())),
                "merging changed the base weight");
        lora.unmerge();
        double back = Nd4j.math().abs(model.forward(ids).value().sub(unmerged)).maxNumber().doubleValue();
        assertTrue(back < 1e-5, "unmerged again: " + back);
    }

    /**
     * Train, save, then serve the saved adapter with the same annotated class: a fresh model built
     * through the door already carries an untrained {@code default}, and loading replaces its values.
     */
    @Test
    void aSavedAdapterLoadsIntoAFreshModelBuiltThroughTheDoor(@TempDir Path dir) throws Exception {
        Init.seed(77);
        TinyLm trained = newModel();
        LoraModel<TinyLm> lora = adapt(trained);
        Batch batch = Batch.fixed();
        for (int step = 0; step < 4; step++) {
            trained.loss(batch.ids, batch.targets).backward();
            sgdStep(trained, 0.5);
        }
        trained.eval();
        INDArray expected = trained.forward(batch.ids).value().dup();
        Lora.save(lora, dir);
        lora.addAdapter("small", LoraConfig.builder().rank(2).alpha(8).targetModules("query", "value").build());
        Lora.save(lora, dir.resolve("second-save")); // writes the rank-2 adapter to second-save/small

        Init.seed(77); // the same base weights, as loading a base checkpoint would give
        TinyLm fresh = newModel();
        if (!adaptsAtConstruction()) {
            Lora.inject(fresh);
        }
        assertEquals(ADAPTED, adaptedPaths(fresh), "the fresh model carries its own, untrained adapter");
        fresh.eval();
        assertFalse(Arrays.equals(expected.ravel().toFloatVector(), fresh.forward(batch.ids).value().ravel().toFloatVector()));

        Map<String, float[]> before = new LinkedHashMap<>();
        fresh.namedParameters().forEach((name, p) -> before.put(name, values(p)));
        AdapterException refused = assertThrows(AdapterException.class, () -> Lora.load(fresh, dir.resolve("second-save/small")));
        assertTrue(refused.getMessage().contains("r 2 (the model's: 4)"), refused.getMessage());
        fresh.namedParameters().forEach((name, p) -> assertArrayEquals(before.get(name), values(p), name + " unchanged"));

        LoraModel<TinyLm> served = Lora.load(fresh, dir);
        assertEquals(List.of(LoraModel.DEFAULT_ADAPTER), List.copyOf(served.adapterNames()));
        assertEquals(TRAINABLE, trainableNames(fresh), "the same parameters train as before the save");
        fresh.eval();
        assertArrayEquals(expected.ravel().toFloatVector(), fresh.forward(batch.ids).value().ravel().toFloatVector(),
                "the fresh model computes what the trained one did, bit for bit");
    }

    @Test
    void aSubclassOfAnAnnotatedClassIsAdapted() {
        GatedAttention attention = new GatedAttention(DIM, HEADS);
        assertEquals(adaptsAtConstruction() ? List.of("query", "value") : List.of(), adaptedPaths(attention));
        LoraModel<GatedAttention> lora = adapt(attention);
        assertEquals(List.of("query", "value"), List.copyOf(lora.layers().keySet()));
        Linear gate = (Linear) attention.namedChildren().get("gate");
        assertNull(LoraLayers.of(gate), "the subclass's own, unannotated layer is untouched");
    }

    @Test
    void twoInstancesHaveIndependentAdapters() {
        TinyLm first = newModel();
        TinyLm second = newModel();
        adapt(first);
        adapt(second);
        Parameter a1 = first.namedParameters().get(TRAINABLE.get(0));
        Parameter a2 = second.namedParameters().get(TRAINABLE.get(0));
        assertNotSame(a1, a2);
        assertFalse(Arrays.equals(values(a1), values(a2)), "independently initialised");
        float[] secondBefore = values(second.namedParameters().get(TRAINABLE.get(1)));
        Batch batch = Batch.fixed();
        first.loss(batch.ids, batch.targets).backward();
        sgdStep(first, 0.5);
        assertFalse(Arrays.equals(new float[secondBefore.length], values(first.namedParameters().get(TRAINABLE.get(1)))),
                "the first model's B trained");
        assertArrayEquals(secondBefore, values(second.namedParameters().get(TRAINABLE.get(1))), "the second's did not");
    }

    @Test
    void aClassCompiledWithoutTheProcessorIsAdaptedToo() {
        NoProcessorModel model = new NoProcessorModel();
        assertEquals(adaptsAtConstruction() ? List.of("in", "out") : List.of(), adaptedPaths(model));
        LoraModel<NoProcessorModel> lora = adapt(model);
        assertEquals(List.of("in", "out"), List.copyOf(lora.layers().keySet()));
        assertEquals(2 * (5 + 7) + 3 * (7 + 3), model.trainableParameterCount());
        assertEquals(adaptsAtConstruction(), transformedClasses().contains(NoProcessorModel.class.getName()));
    }

    @Test
    void aFieldThatCannotBeAdaptedFailsNamingClassAndField() {
        // with an agent the constructor throws; without one, Lora.inject does
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> adapt(new UnadaptableModel()));
        assertTrue(error.getMessage().contains(UnadaptableModel.class.getName() + "#norm"), error.getMessage());
    }

    @Test
    void unrelatedClassesAreLeftAlone() {
        UnrelatedModel model = new UnrelatedModel();
        assertEquals(List.of(), adaptedPaths(model));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Lora.inject(model));
        assertTrue(error.getMessage().contains("carries no adapter"), error.getMessage());
        assertFalse(transformedClasses().contains(UnrelatedModel.class.getName()));
        for (String name : transformedClasses()) {
            assertTrue(declaresLoraField(name), name + " was instrumented but has no @LoRA field");
        }
    }

    // ---- helpers

    static final class Batch {
        final INDArray ids;
        final int[][] targets;

        private Batch(INDArray ids, int[][] targets) {
            this.ids = ids;
            this.targets = targets;
        }

        /** Two sequences of a fixed pattern; each position predicts the next token. */
        static Batch fixed() {
            int[][] tokens = new int[2][LENGTH + 1];
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t <= LENGTH; t++) {
                    tokens[b][t] = (3 * t + 5 * b + 1) % VOCABULARY;
                }
            }
            int[][] inputs = new int[2][LENGTH];
            int[][] targets = new int[2][LENGTH];
            for (int b = 0; b < 2; b++) {
                inputs[b] = Arrays.copyOf(tokens[b], LENGTH);
                targets[b] = Arrays.copyOfRange(tokens[b], 1, LENGTH + 1);
            }
            return new Batch(Nd4j.createFromArray(inputs), targets);
        }
    }

    /** Plain SGD on the trainable parameters, then zeroed gradients. */
    static void sgdStep(Module model, double learningRate) {
        for (Parameter p : model.trainableParameters()) {
            p.value().subi(p.grad().mul(learningRate));
        }
        model.zeroGrad();
    }

    /** Paths of the layers that carry adapters, without going through a LoraModel. */
    static List<String> adaptedPaths(Module model) {
        List<String> paths = new ArrayList<>();
        model.namedModules().forEach((path, module) -> {
            if (module instanceof Linear linear && LoraLayers.of(linear) != null) {
                paths.add(path);
            }
        });
        return paths;
    }

    static List<Module> modules(Module model, List<String> paths) {
        Map<String, Module> all = model.namedModules();
        return paths.stream().map(all::get).toList();
    }

    static List<String> trainableNames(Module model) {
        List<String> names = new ArrayList<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                names.add(name);
            }
        });
        return names;
    }

    static float[] values(Parameter p) {
        return p.value().dup().ravel().toFloatVector();
    }

    static boolean declaresLoraField(String className) {
        try {
            return Arrays.stream(Class.forName(className).getDeclaredFields()).anyMatch(f -> f.isAnnotationPresent(LoRA.class));
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    static boolean startedWithJavaagent() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream().anyMatch(a -> a.startsWith("-javaagent:"));
    }
}
