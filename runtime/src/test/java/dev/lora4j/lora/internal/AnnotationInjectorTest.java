package dev.lora4j.lora.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.LoRA;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.BatchNorm2d;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnnotationInjectorTest {

    static final class Block extends Module {
        @LoRA(rank = 4, alpha = 8)
        final Linear q = new Linear(12, 12);
        final Linear k = new Linear(12, 12);
        @LoRA(rank = 2)
        final Linear v = new Linear(12, 12);
        final LayerNorm norm = new LayerNorm(12);
    }

    static class Model extends Module {
        @LoRA(rank = 3, alpha = 6)
        final Embedding tokens = new Embedding(20, 12);
        final List<Block> blocks = new ArrayList<>(List.of(new Block(), new Block()));
        @LoRA(rank = 1)
        final Linear[] heads = {new Linear(12, 5), new Linear(12, 7)};
    }

    static final class Cnn extends Module {
        @LoRA(rank = 4, alpha = 8)
        final Conv2d stem = new Conv2d(3, 8, 3, ConvGeometry.of(1, 1), false);
        final BatchNorm2d norm = new BatchNorm2d(8);
        @LoRA(rank = 2)
        final List<Conv2d> stages = List.of(new Conv2d(8, 8, 3), new Conv2d(8, 16, 1));
        final Linear head = new Linear(16, 10);
    }

    static final class SubModel extends Model {
        final Linear extra = new Linear(5, 5);
    }

    @Test
    void injectAdaptsExactlyTheAnnotatedFieldsAndFreezesTheRest() {
        Model model = new Model();
        LoraModel<Model> lora = Lora.inject(model);
        assertEquals(List.of("tokens", "blocks.0.q", "blocks.0.v", "blocks.1.q", "blocks.1.v", "heads.0", "heads.1"),
                List.copyOf(lora.layers().keySet()));
        long expected = 3 * (20 + 12) + 2 * (4 * (12 + 12) + 2 * (12 + 12)) + (12 + 5) + (12 + 7);
        assertEquals(expected, model.trainableParameterCount(), "Σ r·(in+out)");
        model.namedParameters().forEach((name, p) -> assertEquals(name.contains("lora_"), p.isTrainable(), name));
        assertEquals(2.0, lora.layers().get("blocks.0.q").adapter("default").scaling(), 1e-12);
        assertEquals(1.0, lora.layers().get("blocks.0.v").adapter("default").scaling(), 1e-12, "alpha defaults to rank");
        assertEquals(0, AnnotationInjector.injectTree(model), "a second injection adds nothing");
        assertEquals(expected, model.trainableParameterCount());
    }

    @Test
    void annotatedConvolutionsGetPeftShapedAdapters() {
        Cnn model = new Cnn();
        LoraModel<Cnn> lora = Lora.inject(model);
        assertEquals(List.of("stem", "stages.0", "stages.1"), List.copyOf(lora.layers().keySet()));
        // Σ r·(in·kh·kw + out): A [r, in, kh, kw], B [out, r, 1, 1]
        long expected = 4 * (3 * 9 + 8) + 2 * (8 * 9 + 8) + 2 * (8 + 16);
        assertEquals(expected, model.trainableParameterCount());
        assertFalse(model.norm.weight().isTrainable(), "the rest is frozen, batch norm included");
        assertEquals(2.0, lora.layers().get("stem").adapter("default").scaling(), 1e-12);
    }

    @Test
    void theDescribedConfigNamesEveryAdaptedPathWithPerModuleRanks() {
        LoraModel<Model> lora = Lora.inject(new Model());
        LoraConfig config = lora.config("default");
        assertEquals(3, config.rank());
        assertEquals(List.of("tokens", "blocks.0.q", "blocks.0.v", "blocks.1.q", "blocks.1.v", "heads.0", "heads.1"),
                config.targetModules());
        assertEquals(4, config.settingsFor("blocks.1.q").rank());
        assertEquals(2, config.settingsFor("blocks.1.v").rank());
        assertEquals(1, config.settingsFor("heads.1").rank());
        assertEquals(8.0, config.settingsFor("blocks.0.q").alpha(), 1e-12);
    }

    static final class Encoder extends Module {
        final List<Block> layer = new ArrayList<>(List.of(new Block(), new Block(), new Block()));
        final Linear k = new Linear(12, 12);
    }

    @Test
    void layerNamesAreTheTargetsWhenTheySelectExactlyTheAdaptedLayers() throws Exception {
        LoraModel<Encoder> lora = Lora.inject(new Encoder());
        LoraConfig config = lora.config("default");
        assertEquals(List.of("q", "v"), config.targetModules(), "q and v name every adapted layer and nothing else");
        assertEquals(2, config.settingsFor("layer.2.v").rank(), "per-path ranks still apply");

        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("described");
        Lora.save(lora, dir);
        dev.lora4j.io.PeftAdapterConfig peft = dev.lora4j.io.PeftAdapterConfig.read(dir.resolve("adapter_config.json"));
        assertEquals(List.of("q", "v"), peft.targetModules().orElseThrow().names(), "PEFT gets the short names too");
        Encoder fresh = new Encoder();
        Lora.load(fresh, dir);
        assertEquals(6, fresh.namedModules().values().stream()
                .filter(m -> m instanceof Linear l && LoraLayers.of(l) != null).count(), "they put adapters on the same six layers");
    }

    @Test
    void aSubclassOfAnAnnotatedModelIsAdaptedAndTwoInstancesAreIndependent() {
        SubModel a = new SubModel();
        SubModel b = new SubModel();
        Lora.inject(a);
        Lora.inject(b);
        assertTrue(LoraLayers.of(a.heads[0]) != null);
        assertFalse(LoraLayers.of(a.extra) != null);
        assertTrue(LoraLayers.of(a.heads[0]).adapter("default").a() != LoraLayers.of(b.heads[0]).adapter("default").a(),
                "each instance has its own adapter");
    }

    static final class WrongType extends Module {
        @LoRA
        final LayerNorm norm = new LayerNorm(4);
    }

    static final class StaticField extends Module {
        @LoRA
        static Linear shared = new Linear(2, 2);
    }

    @Test
    void badFieldsFailNamingClassAndField() {
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> Lora.inject(new WrongType()));
        assertTrue(wrong.getMessage().contains(WrongType.class.getName() + "#norm"), wrong.getMessage());
        IllegalArgumentException statik = assertThrows(IllegalArgumentException.class, () -> Lora.inject(new StaticField()));
        assertTrue(statik.getMessage().contains("StaticField#shared"), statik.getMessage());
    }

    @Test
    void aModelWithoutAnnotationsCannotBeAdopted() {
        Module plain = new Module() {
            final Linear only = new Linear(2, 2);
        };
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Lora.inject(plain));
        assertTrue(error.getMessage().contains("carries no adapter"), error.getMessage());
        assertNull(LoraLayers.of((Linear) plain.namedChildren().get("only")));
    }
}
