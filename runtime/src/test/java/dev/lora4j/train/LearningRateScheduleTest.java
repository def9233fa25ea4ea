package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The Hugging Face closed forms, evaluated by hand at a few steps (peak 2e-4, W = 10, T = 110). */
class LearningRateScheduleTest {

    private static final double PEAK = 2e-4;
    private static final double TOL = 1e-15;

    @Test
    void constant() {
        LearningRateSchedule s = LearningRateSchedule.constant(PEAK);
        assertEquals(PEAK, s.learningRate(0));
        assertEquals(PEAK, s.learningRate(1_000_000));
    }

    @Test
    void linearWarmupThenLinearDecay() {
        LearningRateSchedule s = LearningRateSchedule.linearWarmupDecay(PEAK, 10, 110);
        assertEquals(0.0, s.learningRate(0), TOL);           // 0/10
        assertEquals(0.5 * PEAK, s.learningRate(5), TOL);    // 5/10
        assertEquals(0.9 * PEAK, s.learningRate(9), TOL);    // 9/10
        assertEquals(PEAK, s.learningRate(10), TOL);         // (110-10)/100
        assertEquals(0.75 * PEAK, s.learningRate(35), TOL);  // 75/100
        assertEquals(0.5 * PEAK, s.learningRate(60), TOL);   // 50/100
        assertEquals(0.01 * PEAK, s.learningRate(109), TOL); // 1/100
        assertEquals(0.0, s.learningRate(110), TOL);
        assertEquals(0.0, s.learningRate(500), TOL);         // clamped at 0
    }

    @Test
    void linearWithoutWarmupStartsAtPeak() {
        LearningRateSchedule s = LearningRateSchedule.linearWarmupDecay(PEAK, 0, 4);
        assertEquals(PEAK, s.learningRate(0), TOL);
        assertEquals(0.75 * PEAK, s.learningRate(1), TOL);
        assertEquals(0.25 * PEAK, s.learningRate(3), TOL);
    }

    @Test
    void cosineWarmupThenHalfCosine() {
        LearningRateSchedule s = LearningRateSchedule.cosineWarmupDecay(PEAK, 10, 110);
        assertEquals(0.0, s.learningRate(0), TOL);
        assertEquals(0.3 * PEAK, s.learningRate(3), TOL);
        assertEquals(PEAK, s.learningRate(10), TOL);                                         // cos 0
        assertEquals(PEAK * 0.5 * (1 + Math.cos(Math.PI / 4)), s.learningRate(35), TOL);     // progress 1/4
        assertEquals(0.5 * PEAK, s.learningRate(60), 1e-18);                                 // cos π/2
        assertEquals(PEAK * 0.5 * (1 + Math.cos(3 * Math.PI / 4)), s.learningRate(85), TOL); // progress 3/4
        assertEquals(0.0, s.learningRate(110), TOL);                                         // cos π
    }

    @Test
    void factoriesPassTheRunLength() {
        assertEquals(0.5 * PEAK, ScheduleFactory.LINEAR.create(PEAK, 10, 110).learningRate(60), TOL);
        assertEquals(0.5 * PEAK, ScheduleFactory.COSINE.create(PEAK, 10, 110).learningRate(60), 1e-18);
        assertEquals(PEAK, ScheduleFactory.CONSTANT.create(PEAK, 10, 110).learningRate(0));
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.linearWarmupDecay(PEAK, 20, 10));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.cosineWarmupDecay(-1, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.constant(Double.NaN));
    }
}
