package dev.lora4j.lora;

import dev.lora4j.nn.Parameter;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Keeps new adapter factors in the base weight's element type. */
final class DataTypes {

    private DataTypes() {}

    static INDArray match(INDArray array, Parameter like) {
        return array.dataType() == like.dataType() ? array : array.castTo(like.dataType());
    }
}
