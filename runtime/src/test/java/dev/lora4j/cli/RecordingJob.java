package dev.lora4j.cli;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.pipeline.FineTuneContext;
import dev.lora4j.pipeline.FineTuneData;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.train.BatchSlicer;
import dev.lora4j.train.TrainingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A small but real fine-tuning job for the {@code finetune} command's tests, registered in this
 * module's test {@code META-INF/services}: four linear layers ({@code query}, {@code key}, {@code
 * value}, {@code head}) classify 4-d points by the sign of their first coordinate. It records the
 * options it was given.
 */
public class RecordingJob implements FineTuneJob<RecordingJob.Model, RecordingJob.Batch> {

    /** The options of the last run. */
    static volatile FineTuneOptions lastOptions;

    /** The network. */
    public static final class Model extends Module {
        public final Linear query = new Linear(4, 4, true, new Random(1));
        public final Linear key = new Linear(4, 4, true, new Random(2));
        public final Linear value = new Linear(4, 4, true, new Random(3));
        public final Linear head = new Linear(4, 2, true, new Random(4));

        Tensor forward(INDArray x) {
            return head.forward(value.forward(key.forward(query.forward(Tensor.constant(x)).tanh())).tanh());
        }
    }

    /** Points and their classes. */
    public record Batch(INDArray x, int[] labels) {}

    @Override
    public String name() {
        return "recording";
    }

    @Override
    public String description() {
        return "records its options (tests)";
    }

    @Override
    public FineTuneOptions defaults(FineTuneMode mode) {
        return new FineTuneOptions(mode, 8, 16, List.of("query", "value"), true, 3, Long.MAX_VALUE, 32,
                mode == FineTuneMode.FULL ? 5e-5 : 1e-3, 1, 0, 42, null, Map.of());
    }

    @Override
    public Map<String, String> parameters() {
        return Map.of("max-length", "tokens per example", "fail", "throw this message as a bad option");
    }

    @Override
    public void check(FineTuneOptions options) {
        lastOptions = options;
        if (options.parameters().containsKey("fail")) {
            throw new IllegalArgumentException(options.parameters().get("fail"));
        }
    }

    @Override
    public Model model(FineTuneContext context) {
        context.detail("max length", String.valueOf(context.options().intParameter("max-length", 64)));
        return new Model();
    }

    @Override
    public List<String> head() {
        return List.of("head");
    }

    @Override
    public FineTuneData<Batch> data(FineTuneOptions options) {
        return new FineTuneData<>(batches(64, options.batchSize(), 1), batches(16, 16, 2), batches(16, 8, 3));
    }

    private static List<Batch> batches(int examples, int batchSize, long seed) {
        INDArray x = Nd4j.zeros(DataType.FLOAT, examples, 4);
        Random random = new Random(seed);
        for (int i = 0; i < examples; i++) {
            for (int j = 0; j < 4; j++) {
                x.putScalar(i, j, random.nextDouble() - 0.5);
            }
        }
        List<Batch> batches = new ArrayList<>();
        for (int from = 0; from < examples; from += batchSize) {
            int to = Math.min(examples, from + batchSize);
            int[] labels = new int[to - from];
            for (int i = from; i < to; i++) {
                labels[i - from] = x.getDouble(i, 0) > 0 ? 1 : 0;
            }
            batches.add(new Batch(x.get(NDArrayIndex.interval(from, to)).dup(), labels));
        }
        return batches;
    }

    @Override
    public Tensor logits(Model model, Batch batch) {
        return model.forward(batch.x());
    }

    @Override
    public int[] labels(Batch batch) {
        return batch.labels();
    }

    @Override
    public int size(Batch batch) {
        return batch.labels().length;
    }

    @Override
    public BatchSlicer<Batch> slicer() {
        return (b, from, to) -> new Batch(b.x().get(NDArrayIndex.interval(from, to)),
                java.util.Arrays.copyOfRange(b.labels(), from, to));
    }

    @Override
    public TrainingConfig training(FineTuneOptions options, int trainBatches) {
        return TrainingConfig.builder().epochs(options.epochs()).maxSteps(options.maxSteps())
                .learningRate(options.learningRate()).evalEverySteps(1).seed(options.seed())
                .workers(options.workers()).build();
    }
}
