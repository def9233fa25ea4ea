package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.nn.Init;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.TinyTransformer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Several adapters served over one base: each thread chooses its adapter (or none) per request. */
class AdapterScopeTest {

    private static final List<INDArray> INPUTS = List.of(
            Nd4j.createFromArray(new int[][] {{1, 2, 3, 4, 5}}),
            Nd4j.createFromArray(new int[][] {{6, 7, 8, 9, 0}, {3, 3, 3, 3, 3}}),
            Nd4j.createFromArray(new int[][] {{9, 8, 7, 6, 5, 4, 3}}));
    private static final List<String> CHOICES = List.of("a", "b", "none");

    private LoraModel<TinyTransformer> lora;

    @BeforeEach
    void twoAdapters() {
        Init.seed(21);
        TinyTransformer model = new TinyTransformer(10, 16, 2, 2, 8);
        lora = LoraModel.wrap(model, "a", LoraConfig.builder().rank(4).alpha(8).targetModules("query", "value", "tokens")
                .init(LoraInit.RANDOM).seed(1).build());
        lora.addAdapter("b", LoraConfig.builder().rank(2).alpha(4).targetModules("key", "up")
                .init(LoraInit.RANDOM).seed(2).build());
        model.eval();
    }

    @AfterEach
    void noScopeLeaks() {
        assertNull(AdapterScope.current(), "every scope was closed");
    }

    private INDArray forward(INDArray ids) {
        try (GradMode.Scope ignored = GradMode.disable()) {
            return lora.model().forward(ids).value().dup();
        }
    }

    /** Outputs computed the ordinary way, single-threaded, by switching the model's active set. */
    private List<List<INDArray>> references() {
        List<List<INDArray>> out = new ArrayList<>();
        for (String choice : CHOICES) {
            if (choice.equals("none")) {
                lora.disableAdapters();
            } else {
                lora.enableAdapters();
                lora.setActiveAdapters(choice);
            }
            List<INDArray> perInput = new ArrayList<>();
            INPUTS.forEach(ids -> perInput.add(forward(ids)));
            out.add(perInput);
        }
        lora.enableAdapters();
        lora.setActiveAdapters("a");
        return out;
    }

    @Test
    void aScopeOverridesTheActiveSetOnThisThreadOnly() throws Exception {
        List<List<INDArray>> ref = references();
        INDArray ids = INPUTS.get(0);
        assertNotEquals(ref.get(0).get(0), ref.get(1).get(0));
        assertNotEquals(ref.get(0).get(0), ref.get(2).get(0));

        assertTrue(Bitwise.equal(ref.get(0).get(0), forward(ids)), "no scope: the active set (a)");
        try (AdapterScope outer = lora.scope("b")) {
            assertTrue(Bitwise.equal(ref.get(1).get(0), forward(ids)));
            try (AdapterScope inner = AdapterScope.none()) {
                assertTrue(Bitwise.equal(ref.get(2).get(0), forward(ids)), "none: the base output");
                ExecutorService other = Executors.newSingleThreadExecutor();
                assertTrue(Bitwise.equal(ref.get(0).get(0), other.submit(() -> forward(ids)).get()), "other threads keep the active set");
                other.shutdown();
            }
            assertTrue(Bitwise.equal(ref.get(1).get(0), forward(ids)), "closing restores the enclosing scope");
        }
        assertTrue(Bitwise.equal(ref.get(0).get(0), forward(ids)));
        lora.disableAdapters();
        try (AdapterScope s = lora.scope("a")) {
            assertTrue(Bitwise.equal(ref.get(0).get(0), forward(ids)), "a scope applies its adapters even when the model is disabled");
        }
        lora.enableAdapters();
    }

    @Test
    void mergedAdaptersCannotBeChosenPerThread() {
        lora.merge();
        IllegalStateException fromModel = assertThrows(IllegalStateException.class, () -> lora.scope("b"));
        assertTrue(fromModel.getMessage().contains("merged"), fromModel.getMessage());
        try (AdapterScope s = AdapterScope.use("b")) {
            IllegalStateException fromLayer = assertThrows(IllegalStateException.class, () -> forward(INPUTS.get(0)));
            assertTrue(fromLayer.getMessage().contains("merged") && fromLayer.getMessage().contains("[a]"),
                    fromLayer.getMessage());
        }
        lora.unmerge();
        assertThrows(IllegalArgumentException.class, () -> lora.scope("nope"));
    }

    @Test
    void modelsWithModulesToSaveRefusePerThreadChoice() {
        lora.addAdapter("c", LoraConfig.builder().rank(2).targetModules("query").modulesToSave("head").build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> lora.scope("c"));
        assertTrue(e.getMessage().contains("modules_to_save"), e.getMessage());
    }

    @Test
    void concurrentRequestsEachGetTheirAdaptersOutputExactly() throws Exception {
        List<List<INDArray>> ref = references();
        int threads = 4;
        int requestsPerThread = 150;
        AtomicInteger served = new AtomicInteger();
        AtomicInteger mismatches = new AtomicInteger();
        List<Callable<Void>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = 100 + t;
            workers.add(() -> {
                Random random = new Random(seed);
                for (int r = 0; r < requestsPerThread; r++) {
                    int choice = random.nextInt(CHOICES.size());
                    int input = random.nextInt(INPUTS.size());
                    String name = CHOICES.get(choice);
                    INDArray out;
                    try (AdapterScope s = name.equals("none") ? AdapterScope.none() : AdapterScope.use(name)) {
                        out = forward(INPUTS.get(input));
                    }
                    if (!Bitwise.equal(out, ref.get(choice).get(input))) {
                        mismatches.incrementAndGet();
                    }
                    served.incrementAndGet();
                }
                return null;
            });
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Void>> results = pool.invokeAll(workers);
        pool.shutdown();
        assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
        int errors = 0;
        for (Future<Void> f : results) {
            try {
                f.get();
            } catch (Exception e) {
                errors++;
            }
        }
        System.out.println("AdapterScopeTest: served " + served.get() + " requests on " + threads + " threads, "
                + mismatches.get() + " mismatches, " + errors + " errors");
        assertEquals(0, errors);
        assertEquals(0, mismatches.get(), "every output equals the single-threaded reference bitwise");
        assertEquals(threads * requestsPerThread, served.get());
        assertTrue(Bitwise.equal(ref.get(0).get(0), forward(INPUTS.get(0))), "the model's own active set is undisturbed");
    }
}
