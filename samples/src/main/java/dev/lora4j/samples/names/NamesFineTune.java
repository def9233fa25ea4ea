package dev.lora4j.samples.names;

import com.google.inject.AbstractModule;
import dev.lora4j.Lora;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The names sample, end to end: pretrain a character transformer on male first names, then adapt
 * it to female first names with LoRA (r = 8 on the attention query and value projections), and
 * compare with the base model on held-out names. Run with {@code --quick} for a short check.
 */
public final class NamesFineTune {

    /**
     * How long to train.
     *
     * @param pretrainSteps full-training steps on the male names
     * @param loraSteps at most this many LoRA steps on the female names (early stopping may end sooner)
     * @param rank the adapters' rank
     * @param alpha the adapters' alpha
     * @param seed seeds initialisation, splits and shuffling
     */
    public record Settings(int pretrainSteps, int loraSteps, int rank, double alpha, long seed) {
        /** The default run (about a minute on two cores). */
        public static Settings standard() {
            return new Settings(1200, 600, 8, 16, 7);
        }

        /** A short run for tests. */
        public static Settings quick() {
            return new Settings(150, 100, 8, 16, 7);
        }
    }

    /**
     * What the run measured (mean negative log-likelihood per character, in nats, on held-out names).
     *
     * @param baseFemaleNll the pretrained model on the female test names
     * @param loraFemaleNll the adapted model on the female test names
     * @param baseMaleNll the pretrained model on the male test names
     * @param disabledMaleNll the adapted model with adapters disabled, on the male test names
     * @param mergeMaxAbsDiff the largest logit difference between merged and unmerged inference
     * @param trainable trainable parameters during adaptation
     * @param total all parameters during adaptation
     * @param loraTraining the adaptation's training history
     * @param lora the adapted model (merged)
     */
    public record Results(double baseFemaleNll, double loraFemaleNll, double baseMaleNll, double disabledMaleNll,
            double mergeMaxAbsDiff, long trainable, long total, TrainingResult loraTraining,
            LoraModel<CharTransformer> lora) {}

    private NamesFineTune() {}

    /** Runs the sample; {@code --quick} shortens it. */
    public static void main(String[] args) {
        Settings settings = List.of(args).contains("--quick") ? Settings.quick() : Settings.standard();
        Results results = run(settings);
        print(results);
    }

    /** Pretrains, adapts, evaluates and merges; prints progress to the console. */
    public static Results run(Settings settings) {
        Init.seed(settings.seed());
        NameData.Split male = NameData.split(NameData.load("male"), settings.seed());
        NameData.Split female = NameData.split(NameData.load("female"), settings.seed());
        CharTransformer model = new CharTransformer(NameData.ALPHABET.length(), NameData.LENGTH, 64, 4, 2);
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss(NameData.IGNORE);
        TrainingTask<NameData.Batch> task = TrainingTask.of(
                b -> crossEntropy.compute(model.forward(b.ids()), b.targets()), NameData.Batch::names);

        System.out.println("== 1. pretraining on " + male.train().size() + " male names (all weights train)");
        trainer(settings.pretrainSteps(), 3e-3, settings.seed())
                .fit(model, NameData.batches(male.train(), 64), NameData.batches(male.validation(), 256), task);
        double baseFemale = nll(model, female.test());
        double baseMale = nll(model, male.test());

        System.out.println("== 2. LoRA on attention query and value, r = " + settings.rank() + ", on "
                + female.train().size() + " female names");
        LoraModel<CharTransformer> lora = Lora.wrap(model, LoraConfig.builder()
                .rank(settings.rank()).alpha(settings.alpha()).targetModules("query", "value").seed(settings.seed()).build());
        System.out.println(lora.summary().line());
        TrainingResult adaptation = trainer(settings.loraSteps(), 1e-2, settings.seed() + 1)
                .fit(model, NameData.batches(female.train(), 64), NameData.batches(female.validation(), 256), task);
        double loraFemale = nll(model, female.test());
        lora.disableAdapters();
        double disabledMale = nll(model, male.test());
        lora.enableAdapters();

        Path adapterDir = Path.of("runs", "names", "adapter");
        try {
            Lora.save(lora, adapterDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the adapter to " + adapterDir, e);
        }
        System.out.println("adapter saved in PEFT layout: " + adapterDir.toAbsolutePath());

        System.out.println("== 3. merge check");
        INDArray ids = NameData.batch(female.test()).ids();
        INDArray unmerged = logits(model, ids);
        lora.safeMerge();
        double diff = unmerged.sub(logits(model, ids)).amaxNumber().doubleValue();
        return new Results(baseFemale, loraFemale, baseMale, disabledMale, diff,
                lora.summary().trainable(), lora.summary().total(), adaptation, lora);
    }

    private static Trainer trainer(int steps, double learningRate, long seed) {
        TrainingConfig config = TrainingConfig.builder()
                .epochs(10_000).maxSteps(steps).learningRate(learningRate).warmupSteps(Math.max(1, steps / 20))
                .maxGradNorm(1.0).evalEverySteps(Math.max(1, steps / 10))
                .monitor(TrainingConfig.VAL_LOSS, MetricGoal.MINIMIZE).earlyStopping(3, 1e-3).restoreBestWeights(true)
                .seed(seed).build();
        return Lora4j.injector(new AbstractModule() {
            @Override
            protected void configure() {
                bind(TrainingConfig.class).toInstance(config);
            }
        }).getInstance(Trainer.class);
    }

    /** Mean negative log-likelihood per predicted character over {@code names}, in nats. */
    public static double nll(CharTransformer model, List<String> names) {
        model.eval();
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss(NameData.IGNORE);
        double total = 0;
        long counted = 0;
        try (GradMode.Scope ignored = GradMode.disable()) {
            for (NameData.Batch batch : NameData.batches(names, 512)) {
                long n = java.util.Arrays.stream(batch.targets()).filter(t -> t != NameData.IGNORE).count();
                total += crossEntropy.compute(model.forward(batch.ids()), batch.targets()).item() * n;
                counted += n;
            }
        }
        return total / counted;
    }

    private static INDArray logits(CharTransformer model, INDArray ids) {
        model.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            return model.forward(ids).value().dup();
        }
    }

    /** Draws names from the model, one character at a time. */
    public static List<String> sample(CharTransformer model, int count, long seed) {
        Random random = new Random(seed);
        List<String> names = new ArrayList<>();
        model.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            for (int n = 0; n < count; n++) {
                StringBuilder name = new StringBuilder();
                while (name.length() < NameData.LENGTH - 1) {
                    String prefix = NameData.BOUNDARY + name.toString();
                    int[][] ids = new int[1][prefix.length()];
                    for (int t = 0; t < prefix.length(); t++) {
                        ids[0][t] = NameData.id(prefix.charAt(t));
                    }
                    Tensor logits = model.forward(org.nd4j.linalg.factory.Nd4j.createFromArray(ids));
                    INDArray last = logits.value().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                            org.nd4j.linalg.indexing.NDArrayIndex.point(prefix.length() - 1),
                            org.nd4j.linalg.indexing.NDArrayIndex.all());
                    int next = draw(last, random);
                    if (next == 0) {
                        break;
                    }
                    name.append(NameData.ALPHABET.charAt(next));
                }
                names.add(name.toString());
            }
        }
        return names;
    }

    private static int draw(INDArray logits, Random random) {
        double[] values = logits.toDoubleVector();
        double max = java.util.Arrays.stream(values).max().orElseThrow();
        double sum = 0;
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.exp(values[i] - max);
            sum += values[i];
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < values.length; i++) {
            u -= values[i];
            if (u <= 0) {
                return i;
            }
        }
        return values.length - 1;
    }

    private static void print(Results r) {
        System.out.println();
        System.out.println("| held-out names | model | NLL per character (nats) |");
        System.out.println("|---|---|---|");
        System.out.printf(Locale.ROOT, "| female | pretrained (male names) | %.4f |%n", r.baseFemaleNll());
        System.out.printf(Locale.ROOT, "| female | + LoRA r=8 on query/value | %.4f |%n", r.loraFemaleNll());
        System.out.printf(Locale.ROOT, "| male | pretrained | %.4f |%n", r.baseMaleNll());
        System.out.printf(Locale.ROOT, "| male | + LoRA, adapters disabled | %.4f |%n", r.disabledMaleNll());
        System.out.printf(Locale.ROOT, "trainable %,d of %,d parameters (%.2f%%); merged vs unmerged max |Δlogit| = %.2e%n",
                r.trainable(), r.total(), 100.0 * r.trainable() / r.total(), r.mergeMaxAbsDiff());
        System.out.println("samples after adaptation: " + sample(r.lora().model(), 10, 1));
    }
}
