package dev.lora4j.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs a test class with ND4J's default data types set to float64, so that layers built in the
 * tests create float64 weights, and restores the previous defaults afterwards.
 *
 * <pre>{@code @ExtendWith(Float64.class) class MyTest { ... }}</pre>
 */
public final class Float64 implements BeforeAllCallback, AfterAllCallback {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(Float64.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        DataType[] previous = {Nd4j.dataType(), Nd4j.defaultFloatingPointType()};
        context.getStore(NAMESPACE).put("previous", previous);
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        DataType[] previous = context.getStore(NAMESPACE).remove("previous", DataType[].class);
        if (previous != null) {
            Nd4j.setDefaultDataTypes(previous[0], previous[1]);
        }
    }
}
