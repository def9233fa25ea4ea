package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class TrainingConfigTest {

    private static String error(UnaryOperator<TrainingConfig.Builder> change) {
        return assertThrows(IllegalArgumentException.class, () -> change.apply(TrainingConfig.builder()).build())
                .getMessage();
    }

    @Test
    void defaults() {
        TrainingConfig c = TrainingConfig.defaults();
        assertEquals(1, c.epochs());
        assertEquals(Long.MAX_VALUE, c.maxSteps());
        assertEquals(1.0, c.maxGradNorm());
        assertEquals(TrainingConfig.VAL_LOSS, c.monitor());
        assertEquals(MetricGoal.MINIMIZE, c.goal());
        assertFalse(c.earlyStopping());
        assertTrue(c.restoreBestWeights());
        assertEquals(NonFinitePolicy.STOP, c.nonFinitePolicy());
    }

    @Test
    void errorsNameTheField() {
        assertTrue(error(b -> b.epochs(0)).startsWith("TrainingConfig.epochs "));
        assertTrue(error(b -> b.maxSteps(0)).startsWith("TrainingConfig.maxSteps "));
        assertTrue(error(b -> b.learningRate(-1)).startsWith("TrainingConfig.learningRate "));
        assertTrue(error(b -> b.learningRate(Double.NaN)).startsWith("TrainingConfig.learningRate "));
        assertTrue(error(b -> b.warmupSteps(-1)).startsWith("TrainingConfig.warmupSteps "));
        assertTrue(error(b -> b.maxGradNorm(Double.POSITIVE_INFINITY)).startsWith("TrainingConfig.maxGradNorm "));
        assertTrue(error(b -> b.evalEverySteps(-5)).startsWith("TrainingConfig.evalEverySteps "));
        assertTrue(error(b -> b.monitor(" ", MetricGoal.MAXIMIZE)).startsWith("TrainingConfig.monitor "));
        assertTrue(error(b -> b.earlyStopping(-1, 0)).startsWith("TrainingConfig.patience "));
        assertTrue(error(b -> b.earlyStopping(2, -0.1)).startsWith("TrainingConfig.minDelta "));
        assertTrue(error(b -> b.nonFinitePolicy(null)).startsWith("TrainingConfig.nonFinitePolicy "));
        assertTrue(error(b -> b.earlyStopping(2, 0).evalEveryEpoch(false)).contains("needs evaluations"));
        assertTrue(error(b -> b.epochs(0)).endsWith("got 0"));
    }

    @Test
    void toBuilderKeepsValues() {
        TrainingConfig c = TrainingConfig.builder().epochs(3).earlyStopping(2, 0.01).seed(7).build();
        TrainingConfig copy = c.toBuilder().build();
        assertEquals(c.toString(), copy.toString());
        assertEquals(2, copy.patience());
    }
}
