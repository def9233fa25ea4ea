package dev.lora4j.spark.internal;

import dev.lora4j.nn.Parameter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Packs the arrays of a fixed list of parameters (their gradients, or their values) into one byte
 * message behind a small header, and reads them back: float32 and float64 elements, little endian,
 * in the parameters' order and each in row-major order. Both ends hold the same model, so shapes
 * and types are not sent, only checked by length.
 */
public final class ParameterCodec {

    /** The header: the step (long) and a number (double, e.g. the shard's loss). */
    public static final int HEADER_BYTES = Long.BYTES + Double.BYTES;

    private final List<Parameter> parameters;
    private final int payloadBytes;

    /** A codec for {@code parameters}. */
    public ParameterCodec(List<Parameter> parameters) {
        this.parameters = List.copyOf(parameters);
        long bytes = 0;
        for (Parameter p : parameters) {
            bytes += p.value().length() * (long) elementBytes(p.value().dataType(), p);
        }
        this.payloadBytes = Math.toIntExact(bytes);
    }

    /** The length of a message with every array. */
    public int messageBytes() {
        return HEADER_BYTES + payloadBytes;
    }

    /**
     * A message of {@code arrays.apply(p)} for every parameter ({@code null}: zeros).
     */
    public byte[] encode(long step, double number, Function<Parameter, INDArray> arrays) {
        ByteBuffer buffer = ByteBuffer.allocate(messageBytes()).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(step).putDouble(number);
        for (Parameter p : parameters) {
            INDArray a = arrays.apply(p);
            long n = p.value().length();
            if (a == null) {
                buffer.position(buffer.position() + (int) n * elementBytes(p.value().dataType(), p));
            } else if (a.dataType() == DataType.DOUBLE) {
                buffer.asDoubleBuffer().put(a.dup('c').data().asDouble(), 0, (int) n);
                buffer.position(buffer.position() + (int) n * Double.BYTES);
            } else {
                buffer.asFloatBuffer().put(a.dup('c').data().asFloat(), 0, (int) n);
                buffer.position(buffer.position() + (int) n * Float.BYTES);
            }
        }
        return buffer.array();
    }

    /** The step in a message's header. */
    public static long step(byte[] message) {
        return ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    /** The number in a message's header. */
    public static double number(byte[] message) {
        return ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN).getDouble(Long.BYTES);
    }

    /**
     * The arrays of a message, in the parameters' order, each shaped and typed as its parameter.
     *
     * @throws IllegalStateException when the message is not as long as this codec's
     */
    public INDArray[] decode(byte[] message, int from) {
        if (message.length != messageBytes()) {
            throw new IllegalStateException("a message from task " + from + " holds " + message.length
                    + " bytes, " + messageBytes() + " expected: the tasks do not hold the same trainable parameters");
        }
        ByteBuffer buffer = ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN);
        buffer.position(HEADER_BYTES);
        INDArray[] out = new INDArray[parameters.size()];
        for (int i = 0; i < out.length; i++) {
            Parameter p = parameters.get(i);
            int n = (int) p.value().length();
            if (p.value().dataType() == DataType.DOUBLE) {
                double[] values = new double[n];
                buffer.asDoubleBuffer().get(values);
                buffer.position(buffer.position() + n * Double.BYTES);
                out[i] = Nd4j.createFromArray(values).reshape('c', p.value().shape());
            } else {
                float[] values = new float[n];
                buffer.asFloatBuffer().get(values);
                buffer.position(buffer.position() + n * Float.BYTES);
                out[i] = Nd4j.createFromArray(values).reshape('c', p.value().shape());
            }
        }
        return out;
    }

    /** Assigns {@code values} (as {@link #decode} returns them) to the parameters' values. */
    public void assignValues(INDArray[] values) {
        for (int i = 0; i < parameters.size(); i++) {
            parameters.get(i).value().assign(values[i]);
        }
    }

    private static int elementBytes(DataType type, Parameter p) {
        return switch (type) {
            case DOUBLE -> Double.BYTES;
            case FLOAT -> Float.BYTES;
            default -> throw new IllegalArgumentException("a trainable parameter of shape "
                    + java.util.Arrays.toString(p.shape()) + " is " + type + "; Spark training exchanges float32 or"
                    + " float64 parameters");
        };
    }
}
