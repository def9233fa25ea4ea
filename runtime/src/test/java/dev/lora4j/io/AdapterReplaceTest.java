package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.LoRA;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Bitwise;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Loading an adapter under a name the model already carries (PEFT's {@code load_adapter} into an
 * existing name): the saved values replace the adapter's, all-or-nothing, when the saved adapter
 * describes the same layers and settings; otherwise nothing changes.
 */
class AdapterReplaceTest {

    /** Two annotated projections and a plain head; the annotations give adapter {@code default}. */
    static final class Net extends Module {
        @LoRA(rank = 4, alpha = 8, dropout = 0.1) final Linear query = new Linear(6, 6);
        @LoRA(rank = 4, alpha = 8, dropout = 0.1) final Linear value = new Linear(6, 6);
        final Linear head = new Linear(6, 3);

        Tensor forward(INDArray x) {
            Tensor h = Tensor.constant(x);
            return head.forward(value.forward(query.forward(h).relu()));
        }
    }

    private static final INDArray X = Init.normal(new Random(3), 1, 5, 6);

    @TempDir
    Path dir;

    private static Net base() {
        Init.seed(21); // the same base weights every time, as a checkpoint would give
        return new Net();
    }

    private static INDArray out(Net net) {
        net.eval();
        return net.forward(X).value().dup();
    }

    /** Annotated, adapted by {@code inject}, "trained": every factor and the head set to known random values. */
    private LoraModel<Net> trainedAndSaved(Path to) throws Exception {
        LoraModel<Net> lora = Lora.adopt(Lora.inject(base()).model(), "head");
        Random random = new Random(7);
        lora.model().namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                p.value().assign(Init.normal(random, 0.5, p.shape()));
            }
        });
        Lora.save(lora, to);
        return lora;
    }

    @Test
    void aSavedAdapterReplacesTheFreshOneAModelCarriesUnderItsName() throws Exception {
        INDArray expected = out(trainedAndSaved(dir).model());

        Net fresh = base();
        LoraModel<Net> injected = Lora.inject(fresh); // as the agent would: default on query and value, B = 0
        Parameter a = injected.layers().get("query").adapter("default").a();
        assertFalse(Bitwise.equal(expected, out(fresh)), "the fresh adapter computes something else");

        LoraModel<Net> served = Lora.load(fresh, dir);

        assertTrue(Bitwise.equal(expected, out(fresh)), "the saved adapter, head included, is what the model computes");
        assertEquals(List.of("default"), List.copyOf(served.adapterNames()), "no second adapter");
        assertEquals(List.of("default"), served.activeAdapters());
        assertSame(a, served.layers().get("query").adapter("default").a(), "the factors keep their identity");
        assertEquals(List.of("head"), served.modulesToSave("default"), "modules_to_save come from the file");
        assertEquals(2L * 4 * (6 + 6) + 6 * 3 + 3, served.summary().trainable(), "factors and the head train");
    }

    @Test
    void loadingIntoAnExistingNameOfALoraModelReplacesEvenATrainedAdapter() throws Exception {
        INDArray expected = out(trainedAndSaved(dir).model());
        LoraModel<Net> other = trainedAndSaved(dir.resolve("unused"));
        Random random = new Random(99);
        other.layers().values().forEach(l -> l.adapter("default").b().value().assign(Init.normal(random, 1, 6, 4)));
        assertFalse(Bitwise.equal(expected, out(other.model())));

        AdapterFiles.load(other, dir, "default");

        assertTrue(Bitwise.equal(expected, out(other.model())), "PEFT's load_adapter semantics: the file wins");
    }

    @Test
    void aSavedAdapterWithAnotherRankIsRefusedAndTheModelIsUnchanged() throws Exception {
        Net donor = base();
        LoraModel<Net> wrapped = Lora.wrap(donor, LoraConfig.builder().rank(2).alpha(8).dropout(0.1)
                .targetModules("query", "value").build());
        wrapped.layers().values().forEach(l -> l.adapter("default").b().value().assign(Nd4j.ones(6, 2)));
        Lora.save(wrapped, dir);

        Net fresh = base();
        Lora.inject(fresh);
        Map<String, Object[]> before = Bitwise.snapshot(fresh);
        Map<String, Boolean> trainable = trainableFlags(fresh);
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(fresh, dir));
        assertMentions(e.getMessage(), "adapter_model.safetensors", "query", "r 2", "the model's: 4", "another name");
        assertEquals(Map.of(), Bitwise.differences(before, fresh), "no value changed");
        assertEquals(trainable, trainableFlags(fresh), "no trainable flag changed");
    }

    @Test
    void aSavedAdapterOnOtherLayersOrWithOtherAlphaOrDropoutIsRefused() throws Exception {
        Lora.save(Lora.wrap(base(), LoraConfig.builder().rank(4).alpha(8).dropout(0.1).targetModules("query").build()), dir);
        LoraModel<Net> injected = Lora.inject(base());
        AdapterException fewer = assertThrows(AdapterException.class, () -> AdapterFiles.load(injected, dir, "default"));
        assertMentions(fewer.getMessage(), "missing [value]");

        Path alpha = dir.resolve("alpha");
        Lora.save(Lora.wrap(base(), LoraConfig.builder().rank(4).alpha(16).dropout(0.1).targetModules("query", "value")
                .build()), alpha);
        assertMentions(assertThrows(AdapterException.class, () -> AdapterFiles.load(injected, alpha, "default")).getMessage(),
                "alpha 16.0", "the model's: 8.0");

        Path dropout = dir.resolve("dropout");
        Lora.save(Lora.wrap(base(), LoraConfig.builder().rank(4).alpha(8).dropout(0.0).targetModules("query", "value")
                .build()), dropout);
        assertMentions(assertThrows(AdapterException.class, () -> AdapterFiles.load(injected, dropout, "default")).getMessage(),
                "dropout 0.0", "the model's: 0.1");
    }

    @Test
    void aMergedAdapterIsNotOverwritten() throws Exception {
        trainedAndSaved(dir);
        LoraModel<Net> injected = Lora.inject(base());
        injected.layers().values().forEach(l -> l.adapter("default").b().value().assign(Nd4j.ones(6, 4)));
        injected.merge();
        Map<String, Object[]> before = Bitwise.snapshot(injected.model());
        AdapterException e = assertThrows(AdapterException.class, () -> AdapterFiles.load(injected, dir, "default"));
        assertMentions(e.getMessage(), "merged", "unmerge");
        assertEquals(Map.of(), Bitwise.differences(before, injected.model()));
    }

    @Test
    void aModelWhoseAdaptersHaveAnotherNameGetsTheLoadedOneAsWellAndActive() throws Exception {
        INDArray expected = out(trainedAndSaved(dir).model());
        Net fresh = base();
        LoraModel<Net> injected = Lora.inject(fresh);
        AdapterFiles.load(injected, dir, "trained"); // a new name: added beside default, inactive
        assertEquals(List.of("default"), injected.activeAdapters());
        injected.setActiveAdapters("trained");
        assertTrue(Bitwise.equal(expected, out(fresh)));
        assertNotNull(injected.layers().get("value").adapter("default"));
    }

    private static Map<String, Boolean> trainableFlags(Module model) {
        Map<String, Boolean> flags = new java.util.LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> flags.put(name, p.isTrainable()));
        return flags;
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "'" + part + "' in: " + message);
        }
    }
}
