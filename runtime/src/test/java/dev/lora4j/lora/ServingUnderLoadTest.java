package dev.lora4j.lora;

import dev.lora4j.Lora;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.nn.Init;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.TinyTransformer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Serving under load: worker threads run requests over one base with several adapters, each request
 * under an {@link AdapterScope} (a named adapter, none, or the model's default pinned with {@link
 * LoraModel#scopeActive()}), while another thread keeps loading a new adapter from disk under a
 * new name ({@link AdapterFiles#load}) and switching the default to it. A worker may pick a new
 * name the moment {@link LoraModel#adapterNames()} shows it. Every output must equal, bit for bit,
 * the single-threaded output of its adapter; a half-loaded adapter (factors not yet filled, or
 * present on some layers only) would show as a mismatch.
 *
 * <p>Runs {@code lora4j.soak.seconds} seconds (3 by default; e.g. {@code -Dlora4j.soak.seconds=120}).
 */
class ServingUnderLoadTest {

    private static final List<INDArray> INPUTS = List.of(
            Nd4j.createFromArray(new int[][] {{1, 2, 3, 4, 5}}),
            Nd4j.createFromArray(new int[][] {{6, 7, 8, 9, 0}, {3, 3, 3, 3, 3}}),
            Nd4j.createFromArray(new int[][] {{9, 8, 7, 6, 5, 4, 3}}));
    private static final int WORKERS = 4;

    @TempDir
    Path dir;

    private static TinyTransformer base() {
        Init.seed(21);
        TinyTransformer model = new TinyTransformer(10, 16, 2, 2, 8);
        model.eval();
        return model;
    }

    private static INDArray forward(TinyTransformer model, INDArray ids) {
        try (GradMode.Scope ignored = GradMode.disable()) {
            return model.forward(ids).value().dup();
        }
    }

    @Test
    void loadingAndSwitchingWhileServingNeverShowsAHalfLoadedAdapter() throws Exception {
        double seconds = Double.parseDouble(System.getProperty("lora4j.soak.seconds", "3"));

        // the adapter the loader keeps loading, saved from a model with the same base
        LoraModel<TinyTransformer> source = Lora.wrap(base(), LoraConfig.builder().rank(3).alpha(5)
                .targetModules("query", "key", "value", "up", "tokens").init(LoraInit.RANDOM).seed(7).build());
        Path saved = dir.resolve("incoming");
        AdapterFiles.saveAdapter(source, LoraModel.DEFAULT_ADAPTER, saved, AdapterSaveOptions.defaults());

        TinyTransformer model = base();
        LoraModel<TinyTransformer> lora = LoraModel.wrap(model, "a", LoraConfig.builder().rank(4).alpha(8)
                .targetModules("query", "value", "tokens").init(LoraInit.RANDOM).seed(1).build());
        lora.addAdapter("b", LoraConfig.builder().rank(2).alpha(4).targetModules("key", "up")
                .init(LoraInit.RANDOM).seed(2).build());

        // single-threaded references: a, b, none on the serving model; the incoming adapter on its source
        Map<String, List<INDArray>> ref = new ConcurrentHashMap<>();
        for (String name : List.of("a", "b")) {
            try (AdapterScope s = lora.scope(name)) {
                ref.put(name, INPUTS.stream().map(ids -> forward(model, ids)).toList());
            }
        }
        try (AdapterScope s = AdapterScope.none()) {
            ref.put("none", INPUTS.stream().map(ids -> forward(model, ids)).toList());
        }
        source.model().eval();
        List<INDArray> incoming = INPUTS.stream().map(ids -> forward(source.model(), ids)).toList();

        AtomicLong served = new AtomicLong();
        AtomicLong newAdapterRequests = new AtomicLong();
        AtomicLong loads = new AtomicLong();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        Map<String, Runnable> bodies = new LinkedHashMap<>();
        for (int t = 0; t < WORKERS; t++) {
            long seed = 100 + t;
            bodies.put("serving-" + t, () -> {
                Random random = new Random(seed);
                while (System.nanoTime() < deadline && errors.size() < 10) {
                    List<String> names = new ArrayList<>(lora.adapterNames());
                    // half the requests go to the newest adapter, to meet a load as early as possible
                    int pick = random.nextBoolean() ? names.size() - 1 : random.nextInt(names.size() + 2);
                    int input = random.nextInt(INPUTS.size());
                    try {
                        String used;
                        INDArray out;
                        if (pick == names.size()) {
                            used = "none";
                            try (AdapterScope s = AdapterScope.none()) {
                                out = forward(model, INPUTS.get(input));
                            }
                        } else {
                            try (AdapterScope s = pick < names.size() ? lora.scope(names.get(pick)) : lora.scopeActive()) {
                                used = s.adapters().get(0);
                                out = forward(model, INPUTS.get(input));
                            }
                        }
                        INDArray expected = used.startsWith("c") ? incoming.get(input) : ref.get(used).get(input);
                        if (used.startsWith("c")) {
                            newAdapterRequests.incrementAndGet();
                        }
                        if (!Bitwise.equal(expected, out)) {
                            errors.add("adapter " + used + ", input " + input + ": output differs from the reference");
                        }
                        served.incrementAndGet();
                    } catch (RuntimeException e) {
                        errors.add(e.toString());
                    }
                }
            });
        }
        bodies.put("loader", () -> {
            int k = 0;
            while (System.nanoTime() < deadline && errors.isEmpty() && k < 500) {
                String name = "c" + (++k);
                try {
                    AdapterFiles.load(lora, saved, name);
                    lora.setActiveAdapters(name);
                    loads.incrementAndGet();
                    Thread.sleep(5);
                } catch (Exception e) {
                    errors.add("loader: " + e);
                }
            }
        });
        runTogether(bodies, seconds);
        System.out.printf("[load] %d requests served by %d threads in %.1f s (%d on freshly loaded adapters) while"
                        + " %d adapters were loaded and the default switched %d times; %d errors%n",
                served.get(), WORKERS, seconds, newAdapterRequests.get(), loads.get(), loads.get(), errors.size());
        assertTrue(errors.isEmpty(), "errors: " + errors);
        assertTrue(loads.get() > 0 && newAdapterRequests.get() > 0, "the new adapters were loaded and used");
        assertTrue(served.get() > WORKERS, "requests were served");
        assertEquals("c" + loads.get(), lora.activeAdapters().get(0));
    }

    /**
     * {@link LoraModel#addWeightedAdapter} while serving: a worker that sees a combined adapter's
     * name in {@link LoraModel#adapterNames()} must compute with its finished factors, bit for bit
     * the output of the same combination made on a twin model before serving began.
     */
    @Test
    void combiningAdaptersWhileServingNeverShowsAHalfBuiltOne() throws Exception {
        double seconds = Double.parseDouble(System.getProperty("lora4j.soak.seconds", "3"));
        List<String> sources = List.of("a", "b");
        List<Double> weights = List.of(0.7, -0.4);

        TinyTransformer twin = base();
        LoraModel<TinyTransformer> reference = twoAdapters(twin);
        reference.addWeightedAdapter(sources, weights, "combined", CombinationType.CAT);
        List<INDArray> combined;
        try (AdapterScope s = reference.scope("combined")) {
            combined = INPUTS.stream().map(ids -> forward(twin, ids)).toList();
        }
        Map<String, LoraAdapter> combinedFactors = new LinkedHashMap<>();
        reference.layers().forEach((path, layer) -> combinedFactors.put(path, layer.adapter("combined")));

        TinyTransformer model = base();
        LoraModel<TinyTransformer> lora = twoAdapters(model);
        AtomicLong served = new AtomicLong();
        AtomicLong combinedRequests = new AtomicLong();
        AtomicLong combinations = new AtomicLong();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        Map<String, Runnable> bodies = new LinkedHashMap<>();
        for (int t = 0; t < WORKERS; t++) {
            bodies.put("serving-" + t, () -> {
                while (System.nanoTime() < deadline && errors.size() < 10) {
                    List<String> names = new ArrayList<>(lora.adapterNames());
                    String newest = names.get(names.size() - 1);
                    if (!newest.startsWith("w")) {
                        Thread.onSpinWait();
                        continue;
                    }
                    // first what a request is about to read: every layer's factors, finished
                    lora.layers().forEach((path, layer) -> {
                        LoraAdapter seen = layer.adapter(newest);
                        LoraAdapter finished = combinedFactors.get(path);
                        if (seen == null || !Bitwise.equal(finished.a().value(), seen.a().value())
                                || !Bitwise.equal(finished.b().value(), seen.b().value())) {
                            errors.add("adapter " + newest + " on " + path + ": visible before its factors are written");
                        }
                    });
                    int input = (int) (served.get() % INPUTS.size());
                    try (AdapterScope s = lora.scope(newest)) {
                        INDArray out = forward(model, INPUTS.get(input));
                        if (!Bitwise.equal(combined.get(input), out)) {
                            errors.add("adapter " + newest + ", input " + input + ": output differs from the finished combination");
                        }
                        combinedRequests.incrementAndGet();
                        served.incrementAndGet();
                    } catch (RuntimeException e) {
                        errors.add(e.toString());
                    }
                }
            });
        }
        bodies.put("combiner", () -> {
            int k = 0;
            while (System.nanoTime() < deadline && errors.isEmpty() && k < 2000) {
                try {
                    lora.addWeightedAdapter(sources, weights, "w" + (++k), CombinationType.CAT);
                    combinations.incrementAndGet();
                } catch (RuntimeException e) {
                    errors.add("combiner: " + e);
                }
            }
        });
        runTogether(bodies, seconds);
        System.out.printf("[load] %d requests on combined adapters by %d threads in %.1f s while %d combinations"
                + " were added; %d errors%n", combinedRequests.get(), WORKERS, seconds, combinations.get(), errors.size());
        assertTrue(errors.isEmpty(), "errors: " + errors);
        assertTrue(combinations.get() > 1 && combinedRequests.get() > 0, "combinations were added and served");
    }

    /** Adapters a and b (rank 3 and 2, random B so that each changes the output) on the same base. */
    private static LoraModel<TinyTransformer> twoAdapters(TinyTransformer model) {
        LoraModel<TinyTransformer> lora = LoraModel.wrap(model, "a", LoraConfig.builder().rank(3).alpha(6)
                .targetModules("query", "key", "value", "up", "tokens").init(LoraInit.RANDOM).seed(1).build());
        lora.addAdapter("b", LoraConfig.builder().rank(2).alpha(4).targetModules("query", "key", "value", "up", "tokens")
                .init(LoraInit.RANDOM).seed(2).build());
        return lora;
    }

    /** Runs each body on its own thread, all released at once; waits for them (a minute past the soak at most). */
    private static void runTogether(Map<String, Runnable> bodies, double seconds) throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        bodies.forEach((name, body) -> threads.add(new Thread(() -> {
            awaitQuietly(start);
            body.run();
        }, name)));
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join((long) (seconds * 1000) + 60_000);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
