package dev.lora4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.NonFiniteWeightsException;
import dev.lora4j.io.SafetensorsException;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.io.internal.AtomicFile;
import dev.lora4j.io.internal.FiniteCheck;
import dev.lora4j.io.internal.TensorBytes;
import dev.lora4j.nn.CheckpointableRandom;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Everything a {@link Trainer} needs to continue an interrupted run exactly where it was: the
 * trainable parameters, the optimizer's per-parameter state (AdamW's moments and step counts), the
 * global step and the position in the epoch (with the epoch's batch order), the state of every
 * random generator (the shuffle's and each dropout's, see {@link CheckpointableRandom}), the loss
 * history, the evaluations and the best-metric tracking (with the best weights). The learning-rate
 * schedule is a function of the step, so its position is the step; its inputs are checked.
 *
 * <p>On disk, a directory holding {@value #STATE_FILE} (small JSON) and one {@code
 * state-<step>-<tag>.safetensors} it names ({@code param/<name>}, {@code optim/<name>/<buffer>},
 * {@code best/<name>}, {@code losses}). {@link #save} writes the tensors to a new file (forced to
 * disk), then replaces the JSON atomically (temporary file, fsync, rename): that rename is the
 * commit, so a process killed at any moment leaves the previous checkpoint or the new one, complete.
 * Older state files and temporary files of killed saves are deleted after the commit.
 *
 * @param globalStep steps taken (skipped non-finite steps included)
 * @param epoch the 1-based epoch in progress
 * @param positionInEpoch how many batches of {@code order} this epoch has consumed
 * @param order the epoch's batch order (indices into the training list)
 * @param plannedSteps the run's planned steps (the schedule's length)
 * @param epochs the configured epochs
 * @param trainingBatches the number of training batches
 * @param seed the configured shuffle seed
 * @param shuffleRandom the shuffle generator's state
 * @param generators each model generator's state, by path ({@link dev.lora4j.nn.Module#namedGenerators()})
 * @param optimizerType the optimizer's class name
 * @param parameters the trainable parameters' values, by name
 * @param optimizerState each trainable parameter's optimizer state, by name (absent: none yet)
 * @param losses every step's loss so far
 * @param evaluations every evaluation so far
 * @param nonFiniteEvents every skipped step so far
 * @param best the best monitored value ({@code NaN} before any)
 * @param bestStep its step
 * @param evaluationsWithoutImprovement the early-stopping count
 * @param lastEvaluatedStep the step of the last evaluation (-1: none)
 * @param bestWeights the trainable parameters at the best evaluation (empty when not captured)
 */
public record TrainingCheckpoint(
        long globalStep,
        int epoch,
        int positionInEpoch,
        List<Integer> order,
        long plannedSteps,
        int epochs,
        int trainingBatches,
        long seed,
        CheckpointableRandom.State shuffleRandom,
        Map<String, CheckpointableRandom.State> generators,
        String optimizerType,
        Map<String, INDArray> parameters,
        Map<String, ParameterState> optimizerState,
        List<Double> losses,
        List<Evaluation> evaluations,
        List<NonFiniteEvent> nonFiniteEvents,
        double best,
        long bestStep,
        int evaluationsWithoutImprovement,
        long lastEvaluatedStep,
        Map<String, INDArray> bestWeights) {

    /** The JSON file that commits a checkpoint. */
    public static final String STATE_FILE = "trainer_state.json";

    private static final String FORMAT = "lora4j-training-checkpoint";
    private static final int VERSION = 1;
    private static final String STATE_PREFIX = "state-";
    private static final SecureRandom TAGS = new SecureRandom();
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    /** Copies the collections. */
    public TrainingCheckpoint {
        order = List.copyOf(order);
        generators = Map.copyOf(generators);
        parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        optimizerState = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(optimizerState));
        losses = List.copyOf(losses);
        evaluations = List.copyOf(evaluations);
        nonFiniteEvents = List.copyOf(nonFiniteEvents);
        bestWeights = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(bestWeights));
    }

    /**
     * Writes this checkpoint into {@code dir} (created if needed), replacing the one there
     * atomically.
     *
     * @throws NonFiniteWeightsException when a parameter holds NaN or infinity (nothing is written)
     * @throws IOException if writing fails (the previous checkpoint stays)
     */
    public void save(Path dir) throws IOException {
        for (Map.Entry<String, INDArray> e : parameters.entrySet()) {
            String problem = FiniteCheck.problem(e.getValue());
            if (problem != null) {
                throw new NonFiniteWeightsException("refusing to save a training checkpoint at step " + globalStep + " to "
                        + dir + ": parameter '" + e.getKey() + "' holds " + problem + "; the previous checkpoint stays");
            }
        }
        Files.createDirectories(dir);
        String tensorsFile = String.format("%s%012d-%s.safetensors", STATE_PREFIX, globalStep,
                Long.toUnsignedString(TAGS.nextLong(), 36));
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        parameters.forEach((name, value) -> tensors.put("param/" + name, value));
        optimizerState.forEach((name, state) -> state.buffers().forEach((buffer, value) ->
                tensors.put("optim/" + name + "/" + buffer, value)));
        bestWeights.forEach((name, value) -> tensors.put("best/" + name, value));
        double[] lossValues = losses.stream().mapToDouble(Double::doubleValue).toArray();
        tensors.put("losses", lossValues.length == 0 ? Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 0)
                : Nd4j.createFromArray(lossValues));
        SafetensorsWriter.write(dir.resolve(tensorsFile), tensors, Map.of("format", FORMAT));

        byte[] json = JSON.writeValueAsBytes(toJson(tensorsFile));
        try (AtomicFile out = AtomicFile.create(dir.resolve(STATE_FILE))) {
            TensorBytes.writeFully(ByteBuffer.wrap(json), out.channel());
            out.commit();
        }
        deleteOtherStateFiles(dir, tensorsFile);
    }

    /**
     * Reads the checkpoint in {@code dir}.
     *
     * @throws CheckpointException when there is none or it is malformed
     * @throws IOException if reading fails
     */
    public static TrainingCheckpoint read(Path dir) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        if (!Files.exists(stateFile)) {
            throw new CheckpointException(dir + ": no training checkpoint (" + STATE_FILE + " is missing)");
        }
        JsonNode j;
        try {
            j = JSON.readTree(Files.readString(stateFile, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CheckpointException(stateFile + ": not valid JSON: " + e.getOriginalMessage().lines().findFirst()
                    .orElse(""), e);
        }
        try {
            if (!FORMAT.equals(j.path("format").asText()) || j.path("version").asInt() != VERSION) {
                throw new CheckpointException(stateFile + ": not a " + FORMAT + " version " + VERSION);
            }
            String tensorsFile = text(j, "tensors");
            if (tensorsFile.contains("/") || tensorsFile.contains("\\") || !tensorsFile.startsWith(STATE_PREFIX)) {
                throw new CheckpointException(stateFile + ": field 'tensors' must name a state file in the directory, got '"
                        + tensorsFile + "'");
            }
            Map<String, INDArray> parameters = new LinkedHashMap<>();
            Map<String, Map<String, INDArray>> buffers = new LinkedHashMap<>();
            Map<String, INDArray> best = new LinkedHashMap<>();
            List<Double> losses = new ArrayList<>();
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(tensorsFile))) {
                for (TensorInfo t : f.tensors()) {
                    String name = t.name();
                    if (name.startsWith("param/")) {
                        parameters.put(name.substring(6), f.read(name));
                    } else if (name.startsWith("best/")) {
                        best.put(name.substring(5), f.read(name));
                    } else if (name.startsWith("optim/")) {
                        int slash = name.lastIndexOf('/');
                        buffers.computeIfAbsent(name.substring(6, slash), k -> new LinkedHashMap<>())
                                .put(name.substring(slash + 1), f.read(name));
                    } else if (name.equals("losses")) {
                        for (double v : f.read(name).toDoubleVector()) {
                            losses.add(v);
                        }
                    } else {
                        throw new CheckpointException(f.path() + ": unexpected tensor '" + name + "'");
                    }
                }
            }
            Map<String, ParameterState> optimizer = new LinkedHashMap<>();
            JsonNode steps = j.path("optimizer").path("steps");
            steps.fields().forEachRemaining(e -> optimizer.put(e.getKey(),
                    new ParameterState(e.getValue().asLong(), buffers.getOrDefault(e.getKey(), Map.of()))));
            Map<String, CheckpointableRandom.State> generators = new LinkedHashMap<>();
            j.path("generators").fields().forEachRemaining(e -> generators.put(e.getKey(), rng(e.getValue())));
            List<Integer> order = new ArrayList<>();
            j.path("order").forEach(n -> order.add(n.asInt()));
            List<Evaluation> evaluations = new ArrayList<>();
            for (JsonNode e : j.path("evaluations")) {
                Map<String, Double> metrics = new LinkedHashMap<>();
                e.path("metrics").fields().forEachRemaining(m -> metrics.put(m.getKey(), Double.parseDouble(m.getValue().asText())));
                evaluations.add(new Evaluation(e.path("step").asLong(), e.path("epoch").asInt(), metrics));
            }
            List<NonFiniteEvent> events = new ArrayList<>();
            for (JsonNode e : j.path("non_finite_events")) {
                events.add(new NonFiniteEvent(e.path("step").asLong(), e.path("epoch").asInt(),
                        Double.parseDouble(e.path("loss").asText()), Double.parseDouble(e.path("gradient_norm").asText()),
                        e.path("parameter").isTextual() ? e.path("parameter").asText() : null));
            }
            JsonNode tracker = j.path("tracker");
            return new TrainingCheckpoint(j.path("global_step").asLong(), j.path("epoch").asInt(),
                    j.path("position_in_epoch").asInt(), order, j.path("planned_steps").asLong(), j.path("epochs").asInt(),
                    j.path("training_batches").asInt(), j.path("seed").asLong(), rng(j.path("shuffle_rng")), generators,
                    text(j.path("optimizer"), "type"), parameters, optimizer, losses, evaluations, events,
                    Double.longBitsToDouble(tracker.path("best_bits").asLong()), tracker.path("best_step").asLong(),
                    tracker.path("evaluations_without_improvement").asInt(), tracker.path("last_evaluated_step").asLong(),
                    best);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(stateFile + ": names the state file " + e.getFile() + ", which is missing", e);
        } catch (SafetensorsException | NumberFormatException e) {
            throw new CheckpointException(stateFile + ": " + e.getMessage(), e);
        }
    }

    private ObjectNode toJson(String tensorsFile) {
        ObjectNode j = JSON.createObjectNode();
        j.put("format", FORMAT);
        j.put("version", VERSION);
        j.put("tensors", tensorsFile);
        j.put("global_step", globalStep);
        j.put("epoch", epoch);
        j.put("position_in_epoch", positionInEpoch);
        j.put("planned_steps", plannedSteps);
        j.put("epochs", epochs);
        j.put("training_batches", trainingBatches);
        j.put("seed", seed);
        ArrayNode o = j.putArray("order");
        order.forEach(o::add);
        j.set("shuffle_rng", rngJson(shuffleRandom));
        ObjectNode g = j.putObject("generators");
        generators.forEach((path, state) -> g.set(path, rngJson(state)));
        ObjectNode opt = j.putObject("optimizer");
        opt.put("type", optimizerType);
        ObjectNode steps = opt.putObject("steps");
        optimizerState.forEach((name, state) -> steps.put(name, state.steps()));
        ObjectNode tracker = j.putObject("tracker");
        tracker.put("best", Double.toString(best));
        tracker.put("best_bits", Double.doubleToRawLongBits(best));
        tracker.put("best_step", bestStep);
        tracker.put("evaluations_without_improvement", evaluationsWithoutImprovement);
        tracker.put("last_evaluated_step", lastEvaluatedStep);
        ArrayNode evals = j.putArray("evaluations");
        for (Evaluation e : evaluations) {
            ObjectNode n = evals.addObject();
            n.put("step", e.step());
            n.put("epoch", e.epoch());
            ObjectNode m = n.putObject("metrics");
            e.metrics().forEach((k, v) -> m.put(k, Double.toString(v)));
        }
        ArrayNode events = j.putArray("non_finite_events");
        for (NonFiniteEvent e : nonFiniteEvents) {
            ObjectNode n = events.addObject();
            n.put("step", e.step());
            n.put("epoch", e.epoch());
            n.put("loss", Double.toString(e.loss()));
            n.put("gradient_norm", Double.toString(e.gradientNorm()));
            n.put("parameter", e.parameterName());
        }
        return j;
    }

    private static ObjectNode rngJson(CheckpointableRandom.State s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("seed", s.seed());
        n.put("have_next_next_gaussian", s.haveNextNextGaussian());
        n.put("next_next_gaussian_bits", Double.doubleToRawLongBits(s.nextNextGaussian()));
        return n;
    }

    private static CheckpointableRandom.State rng(JsonNode n) {
        if (!n.path("seed").canConvertToLong()) {
            throw new CheckpointException("random generator state without a 'seed': " + n);
        }
        return new CheckpointableRandom.State(n.path("seed").asLong(), n.path("have_next_next_gaussian").asBoolean(),
                Double.longBitsToDouble(n.path("next_next_gaussian_bits").asLong()));
    }

    private static String text(JsonNode j, String field) {
        JsonNode v = j.get(field);
        if (v == null || !v.isTextual()) {
            throw new CheckpointException(STATE_FILE + ": field '" + field + "' must be a string, got " + v);
        }
        return v.textValue();
    }

    private static void deleteOtherStateFiles(Path dir, String keep) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, STATE_PREFIX + "*.safetensors")) {
            for (Path p : files) {
                if (!p.getFileName().toString().equals(keep)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        AtomicFile.deleteStale(dir, "." + STATE_PREFIX); // temporary files of killed saves
    }
}
