package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Float64;
import dev.lora4j.train.DataParallelTrainingTest.Batch;
import dev.lora4j.testing.DropoutMlp;
import dev.lora4j.train.internal.DataParallel;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * In float64, the gradient that data-parallel workers sum from their shards is the gradient of the
 * whole batch's mean loss, dropout (in the model and in the adapters) included: each shard's
 * backward pass is seeded with its share of the examples, and the per-example masks are the same
 * however the batch is split. Agreement to 1e-12 relative: float64 rounding of a few dozen terms.
 */
@ExtendWith(Float64.class)
class DataParallelGradientTest {

    private static double[] step(int workers, Batch batch, List<Parameter> into) {
        LoraModel<DropoutMlp> lora = DataParallelTrainingTest.model(0.3);
        DropoutMlp net = lora.model();
        net.train();
        List<Parameter> trainable = DataParallelTrainingTest.trainableParameters(net);
        try (DataParallel<Batch> parallel = DataParallel.create(net, DataParallelTrainingTest.task(net),
                DataParallelTrainingTest.config(workers).build(), trainable)) {
            assertEquals(workers, parallel.workers());
            double loss = parallel.lossAndGradients(batch, batch.size(), 5);
            into.addAll(trainable);
            return new double[] {loss};
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 7})
    void theShardsGradientsSumToTheWholeBatchs(int workers) {
        Batch batch64 = asDouble(DataParallelTrainingTest.batches(1, 7, 11).get(0));
        List<Parameter> whole = new java.util.ArrayList<>();
        List<Parameter> sharded = new java.util.ArrayList<>();
        double wholeLoss = step(1, batch64, whole)[0];
        double shardedLoss = step(workers, batch64, sharded)[0];
        assertEquals(wholeLoss, shardedLoss, 1e-12 * Math.abs(wholeLoss), "the loss");
        assertEquals(whole.size(), sharded.size());
        for (int i = 0; i < whole.size(); i++) {
            INDArray expected = whole.get(i).grad();
            INDArray actual = sharded.get(i).grad();
            assertEquals(DataType.DOUBLE, actual.dataType());
            double scale = Math.max(1e-12, expected.amaxNumber().doubleValue());
            double difference = expected.sub(actual).amaxNumber().doubleValue();
            assertTrue(difference <= 1e-12 * scale, "parameter " + i + ": difference " + difference + " at scale " + scale);
        }
        // dropout did act: without it the loss is another
        LoraModel<DropoutMlp> plain = DataParallelTrainingTest.model(0.0);
        plain.model().train();
        double undropped = DataParallelTrainingTest.task(plain.model()).loss(batch64).item();
        assertNotEquals(wholeLoss, undropped, 1e-6);
    }

    private static Batch asDouble(Batch b) {
        return new Batch(b.x().castTo(DataType.DOUBLE), b.y().castTo(DataType.DOUBLE));
    }
}
