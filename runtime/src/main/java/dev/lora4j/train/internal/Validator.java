package dev.lora4j.train.internal;

import dev.lora4j.autograd.GradMode;
import dev.lora4j.nn.Module;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One validation pass: the model in evaluation mode, grad mode off, the batch-size-weighted mean
 * loss, accuracy when the task has a predictor, then the task's extra metrics. The model's mode is
 * put back afterwards.
 *
 * @param <B> the batch type
 */
public final class Validator<B> {

    private final Module model;
    private final List<B> validation;
    private final TrainingTask<B> task;
    private final StepGradients<B> parallel;

    /**
     * A validator over a fixed validation list.
     *
     * @param parallel the workers to spread the batches over, or {@code null} to run them on the
     *     calling thread
     */
    public Validator(Module model, List<B> validation, TrainingTask<B> task, StepGradients<B> parallel) {
        this.model = model;
        this.validation = List.copyOf(validation);
        this.task = task;
        this.parallel = parallel;
    }

    /** The metrics by name. */
    @SuppressWarnings("try") // the grad-mode scope is used only for its close()
    public Map<String, Double> evaluate() {
        boolean wasTraining = model.isTraining();
        model.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            Map<String, Double> metrics = new LinkedHashMap<>();
            Predictor<B> predictor = task.predictor();
            List<Piece<B>> pieces = pieces(predictor != null);
            List<double[]> perPiece = parallel == null
                    ? onCaller(pieces, piece -> measure(piece, predictor))
                    : parallel.evaluate(pieces, piece -> measure(piece, predictor));
            double lossSum = 0;
            long examples = 0;
            long correct = 0;
            long counted = 0;
            for (double[] m : perPiece) { // summed in batch order, whichever worker measured them
                lossSum += m[0];
                examples += (long) m[1];
                correct += (long) m[2];
                counted += (long) m[3];
            }
            metrics.put(TrainingConfig.VAL_LOSS, examples == 0 ? Double.NaN : lossSum / examples);
            if (predictor != null) {
                metrics.put(TrainingConfig.VAL_ACCURACY, counted == 0 ? Double.NaN : (double) correct / counted);
            }
            if (task.evaluator() != null) {
                metrics.putAll(task.evaluator().evaluate(validation));
            }
            return metrics;
        } finally {
            model.setTraining(wasTraining);
        }
    }

    /**
     * {@code f} of every piece on the calling thread, each in the thread's step memory as on the
     * workers ({@link WorkerPool#evaluate}): a piece's arrays are freed when it is measured, not when
     * Java next collects garbage.
     */
    private static <T> List<double[]> onCaller(List<T> pieces, Function<T, double[]> f) {
        try (WorkerPool caller = new WorkerPool(1)) {
            return caller.evaluate(pieces, f);
        }
    }

    /**
     * The most examples one piece of validation holds when the task can slice its batches: a
     * worker's step memory holds the forward pass of one piece (a 32 × 64-token MiniLM batch took
     * 550 MB). Fixed, not derived from the number of workers, so that the metrics are the same bits
     * whatever that number is.
     */
    static final int PIECE_EXAMPLES = 8;

    /**
     * What one worker measures at a time: a slice of a batch (the whole batch when the task has no
     * slicer), for its loss or, apart, for its predictions, so that a worker's step memory holds one
     * forward pass of at most {@link #PIECE_EXAMPLES} examples.
     */
    private record Piece<B>(B batch, int size, boolean predictions) {}

    private List<Piece<B>> pieces(boolean predictions) {
        List<Piece<B>> pieces = new ArrayList<>();
        for (B batch : validation) {
            for (Piece<B> slice : slices(batch)) {
                pieces.add(slice);
                if (predictions) {
                    pieces.add(new Piece<>(slice.batch(), slice.size(), true));
                }
            }
        }
        return pieces;
    }

    private List<Piece<B>> slices(B batch) {
        int size = task.batchSize(batch);
        if (task.slicer() == null || size <= PIECE_EXAMPLES) {
            return List.of(new Piece<>(batch, size, false));
        }
        List<Piece<B>> slices = new ArrayList<>();
        for (int from = 0; from < size; from += PIECE_EXAMPLES) {
            int to = Math.min(size, from + PIECE_EXAMPLES);
            slices.add(new Piece<>(task.slicer().slice(batch, from, to), to - from, false));
        }
        return slices;
    }

    /** {loss × size, size, 0, 0} or {0, 0, correct, counted} of one piece. */
    private double[] measure(Piece<B> piece, Predictor<B> predictor) {
        if (!piece.predictions()) {
            return new double[] {task.loss(piece.batch()).item() * piece.size(), piece.size(), 0, 0};
        }
        long[] c = countCorrect(predictor.predict(piece.batch()));
        return new double[] {0, 0, c[0], c[1]};
    }

    /** {correct, counted} for one batch. */
    static long[] countCorrect(Predictor.Prediction prediction) {
        INDArray logits = prediction.logits();
        long classes = logits.size(logits.rank() - 1);
        INDArray rows = logits.reshape(logits.length() / classes, classes);
        int[] targets = prediction.targets();
        if (rows.size(0) != targets.length) {
            throw new IllegalArgumentException("predictor: " + rows.size(0) + " rows of logits but "
                    + targets.length + " targets");
        }
        int[] predicted = Nd4j.argMax(rows, 1).toIntVector();
        long correct = 0;
        long counted = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] >= 0) {
                counted++;
                if (predicted[i] == targets[i]) {
                    correct++;
                }
            }
        }
        return new long[] {correct, counted};
    }
}
