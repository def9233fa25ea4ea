package dev.lora4j.train;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One parameter's optimizer state, as a training checkpoint stores it: how many updates the
 * parameter has had and the optimizer's buffers for it by name (AdamW: {@code exp_avg} and {@code
 * exp_avg_sq}, PyTorch's names; SGD with momentum: {@code momentum_buffer}).
 *
 * @param steps the parameter's update count
 * @param buffers copies of the buffers, by name
 */
public record ParameterState(long steps, Map<String, INDArray> buffers) {

    /** Copies the map. */
    public ParameterState {
        buffers = Map.copyOf(buffers);
    }
}
