package dev.lora4j.testing;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Exact comparisons. {@code INDArray.equals} allows a difference of 1e-5, so tests that claim
 * "bitwise" compare the element bits through this class instead.
 */
public final class Bitwise {

    private Bitwise() {}

    /** Same dtype, same shape, and every element with the same bits. */
    public static boolean equal(INDArray a, INDArray b) {
        if (a.dataType() != b.dataType() || !Arrays.equals(a.shape(), b.shape())) {
            return false;
        }
        if (a.dataType() == DataType.DOUBLE) {
            return Arrays.equals(a.dup('c').data().asDouble(), b.dup('c').data().asDouble());
        }
        if (a.dataType() == DataType.FLOAT) {
            return Arrays.equals(a.dup('c').data().asFloat(), b.dup('c').data().asFloat());
        }
        return Arrays.equals(a.dup('c').data().asBytes(), b.dup('c').data().asBytes());
    }

    /** Every parameter's value (copied) and trainable flag, by name. */
    public static Map<String, Object[]> snapshot(Module model) {
        Map<String, Object[]> out = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> out.put(name, new Object[] {p.value().dup(), p.isTrainable()}));
        return out;
    }

    /** The names of the parameters that differ from {@code snapshot} (values bitwise, or trainable flags). */
    public static Map<String, String> differences(Map<String, Object[]> snapshot, Module model) {
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, Parameter> now = model.namedParameters();
        if (!now.keySet().equals(snapshot.keySet())) {
            out.put("(parameter names)", snapshot.keySet() + " -> " + now.keySet());
            return out;
        }
        snapshot.forEach((name, was) -> {
            Parameter p = now.get(name);
            if (!equal((INDArray) was[0], p.value())) {
                out.put(name, "value changed");
            } else if ((boolean) was[1] != p.isTrainable()) {
                out.put(name, "trainable " + was[1] + " -> " + p.isTrainable());
            }
        });
        return out;
    }
}
