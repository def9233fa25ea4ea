package dev.lora4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.spy;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import com.google.inject.AbstractModule;
import com.google.inject.multibindings.Multibinder;
import dev.lora4j.api.LoraInit;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.cli.RecordingJob;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.io.ModelCheckpoint;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.lora.AdapterFactory;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.MergeStrategy;
import dev.lora4j.lora.internal.LayerMutations;
import dev.lora4j.train.ConsoleProgress;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one fine-tune pipeline: every stage, and each replaceable part taken from Guice. */
class FineTuneRunnerTest {

    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    private final RecordingJob job = new RecordingJob();

    private static com.google.inject.Module quietConsole() {
        return binder -> binder.bind(ConsoleProgress.class).toInstance(
                new ConsoleProgress(ConsoleProgress.Mode.LINES, ConsoleProgress.DEFAULT_LINE_INTERVAL, QUIET));
    }

    private FineTuneOptions options(FineTuneMode mode, Path dir) {
        return job.defaults(mode).toBuilder().maxSteps(6).learningRate(1e-2).outputDir(dir).build();
    }

    @Test
    void theBoundAdapterFactoryMergeStrategyAndListenersDoTheirStages(@TempDir Path dir) throws IOException {
        AdapterFactory factory = spy(AdapterFactory.standard());
        MergeStrategy merge = mock(MergeStrategy.class);
        TrainingListener listener = mock(TrainingListener.class);
        FineTuneRunner runner = Lora4j.injector(quietConsole(), new AbstractModule() {
            @Override
            protected void configure() {
                bind(AdapterFactory.class).toInstance(factory);
                bind(MergeStrategy.class).toInstance(merge);
                Multibinder.newSetBinder(binder(), TrainingListener.class).addBinding().toInstance(listener);
            }
        }).getInstance(FineTuneRunner.class);

        FineTuneReport report = runner.run(job, options(FineTuneMode.LORA, dir).toBuilder().agent(false).build(), QUIET);

        verify(factory, times(1)).wrap(any(RecordingJob.Model.class), any());
        verify(merge, times(1)).merge(any(LoraModel.class));
        verify(listener, times(6)).onStep(any(StepReport.class));
        assertEquals(6, report.training().steps());
        assertEquals("LoraConfig", report.adaptersBy());
        assertEquals(2 * 8 * (4 + 4) + 10, report.trainable(), "r=8 on query and value, plus the head");
        assertNotNull(report.merge());
        assertEquals(0.0, report.merge().maxAbsLogitDiff(), "the bound strategy did nothing, so nothing changed");
        assertTrue(Double.isNaN(report.merge().checkpointMaxAbsLogitDiff()), "no checkpoint, no model-free merge");
        assertEquals(16, report.testLogits().rows(), "one row per test example");
        assertTrue(Files.isRegularFile(dir.resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.readString(dir.resolve("steps.csv")).lines().count() >= 7, "a header and six steps");
        assertTrue(Files.size(dir.resolve("curve.png")) > 1000);
    }

    @Test
    void eachModeTrainsItsOwnPartsAndTheDefaultMergeAgreesWithTheUnmergedModel(@TempDir Path dir) throws IOException {
        FineTuneRunner runner = Lora4j.injector(quietConsole()).getInstance(FineTuneRunner.class);

        FineTuneReport head = runner.run(job, options(FineTuneMode.HEAD_ONLY, dir.resolve("head")), QUIET);
        assertEquals(10, head.trainable());
        assertNull(head.merge());
        assertNull(head.adapterDir());

        FineTuneReport full = runner.run(job, options(FineTuneMode.FULL, dir.resolve("full")), QUIET);
        assertEquals(70, full.trainable());
        assertEquals(70, full.total());

        FineTuneReport lora = runner.run(job, options(FineTuneMode.LORA, dir.resolve("lora")), QUIET);
        assertEquals(1.0, lora.merge().agreement());
        assertTrue(lora.merge().maxAbsLogitDiff() < 1e-5, "safe merge: " + lora.merge().maxAbsLogitDiff());
        assertEquals(lora.testAccuracy(), lora.merge().mergedTestAccuracy());

        FineTuneReport dora = runner.run(job, options(FineTuneMode.DORA, dir.resolve("dora")), QUIET);
        assertEquals(2 * (8 * (4 + 4) + 4) + 10, dora.trainable(), "r=8 and a magnitude per output on query and value");
        assertEquals("DoRA r=8 alpha=16 on query/value + head", dora.options().describe());
        assertTrue(dora.merge().maxAbsLogitDiff() < 1e-5, "DoRA merged: " + dora.merge().maxAbsLogitDiff());
        assertTrue(PeftAdapterConfig.read(dora.adapterDir().resolve(PeftAdapterConfig.FILE_NAME)).useDora(),
                "saved with use_dora");
    }

    @Test
    void aJobWhoseWeightsComeFromACheckpointIsAlsoMergedIntoThatFileWithoutAModel(@TempDir Path dir) throws IOException {
        Path base = dir.resolve("base.safetensors");
        ModelCheckpoint.save(new RecordingJob.Model(), base);
        RecordingJob fromCheckpoint = new RecordingJob() {
            @Override
            public Path checkpoint(FineTuneContext context) {
                return base;
            }
        };
        FineTuneReport report = Lora4j.injector(quietConsole()).getInstance(FineTuneRunner.class)
                .run(fromCheckpoint, options(FineTuneMode.LORA, dir.resolve("out")), QUIET);
        assertTrue(Files.isRegularFile(dir.resolve("out").resolve(FineTuneRunner.MERGED_CHECKPOINT)));
        double diff = report.merge().checkpointMaxAbsLogitDiff();
        assertTrue(diff < 1e-5, "a model loaded from the merged file gives the adapted logits: " + diff);
        assertTrue(report.table().contains("| model-free merged checkpoint vs adapted model | largest logit difference "));
        report.table().lines().forEach(line -> assertEquals(3, line.chars().filter(c -> c == '|').count(),
                "a two-column Markdown row, no | inside a cell: " + line));
        FineTuneReport.comparison(List.of(report, report)).lines().forEach(line -> assertEquals(8,
                line.chars().filter(c -> c == '|').count(), "a seven-column Markdown row: " + line));
    }

    /** "all-linear" as the targets: every Linear of the model but the head, which trains in full (modules_to_save). */
    @Test
    void allLinearTargetsEveryLinearButTheHead() {
        FineTuneOptions options = job.defaults(FineTuneMode.LORA).toBuilder().targets(List.of("all-linear")).build();
        RecordingJob.Model model = new RecordingJob.Model();
        TrainableParts<RecordingJob.Model> parts = TrainableParts.apply(model, options, job.head(), AdapterFactory.standard());
        assertNotNull(parts.lora());
        assertEquals(List.of("query", "key", "value"), List.copyOf(parts.lora().layers().keySet()));
        assertTrue(parts.lora().config(LoraModel.DEFAULT_ADAPTER).targetsAllLinear());
    }

    @Test
    void adaptersAttachedAtConstructionAreTakenOverOnlyWhenTheyAreWhatTheOptionsAskFor() {
        FineTuneOptions options = job.defaults(FineTuneMode.LORA); // r=8, alpha=16 on query and value, agent
        RecordingJob.Model matching = withAgentStyleAdapters(8, 16);
        TrainableParts<RecordingJob.Model> taken = TrainableParts.apply(matching, options, job.head(),
                AdapterFactory.standard());
        assertEquals("agent", taken.by());
        assertNotNull(taken.lora());
        assertEquals(List.of("head"), taken.lora().modulesToSave(LoraModel.DEFAULT_ADAPTER));
        assertTrue(matching.head.weight().isTrainable(), "the head trains with the adapters");

        RecordingJob.Model otherRank = withAgentStyleAdapters(4, 8);
        TrainableParts<RecordingJob.Model> replaced = TrainableParts.apply(otherRank, options, job.head(),
                AdapterFactory.standard());
        assertEquals("LoraConfig", replaced.by());
        assertEquals(8, LoraLayers.of(otherRank.query).adapter(LoraModel.DEFAULT_ADAPTER).spec().rank(),
                "the constructor's rank-4 adapters came off and the options' rank-8 ones went on");

        RecordingJob.Model dora = withAgentStyleAdapters(8, 16, true);
        assertEquals("LoraConfig", TrainableParts.apply(dora, options, job.head(), AdapterFactory.standard()).by(),
                "@LoRA(dora = true) adapters are not the LoRA the options ask for");
        assertFalse(LoraLayers.of(dora.query).adapter(LoraModel.DEFAULT_ADAPTER).spec().dora());

        RecordingJob.Model plain = new RecordingJob.Model();
        TrainableParts<RecordingJob.Model> headOnly = TrainableParts.apply(plain,
                options.toBuilder().mode(FineTuneMode.HEAD_ONLY).build(), job.head(), AdapterFactory.standard());
        assertNull(headOnly.lora());
        assertEquals(10, plain.trainableParameterCount());

        IllegalArgumentException noHead = assertThrows(IllegalArgumentException.class, () -> TrainableParts.apply(
                new RecordingJob.Model(), options, List.of("classifier"), AdapterFactory.standard()));
        assertEquals("the model has no head module 'classifier'", noHead.getMessage());
    }

    /** What the agent does at construction for {@code @LoRA(rank, alpha)} on query and value. */
    private static RecordingJob.Model withAgentStyleAdapters(int rank, double alpha) {
        return withAgentStyleAdapters(rank, alpha, false);
    }

    private static RecordingJob.Model withAgentStyleAdapters(int rank, double alpha, boolean dora) {
        RecordingJob.Model model = new RecordingJob.Model();
        AdapterSettings spec = new AdapterSettings(rank, alpha, 0.0, false, LoraInit.KAIMING_UNIFORM, dora);
        LayerMutations.addAdapter(LayerMutations.attach(model.query), LoraModel.DEFAULT_ADAPTER, spec, new Random(1));
        LayerMutations.addAdapter(LayerMutations.attach(model.value), LoraModel.DEFAULT_ADAPTER, spec, new Random(2));
        return model;
    }
}
