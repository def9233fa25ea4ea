package dev.lora4j.samples.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The shipped Fashion-MNIST subset: sizes and class balance as PROVENANCE.md states, tasks, batches. */
class FashionDataTest {

    private static int[] perClass(FashionData.Images images, int classes) {
        int[] counts = new int[classes];
        for (int label : images.labels()) {
            counts[label]++;
        }
        return counts;
    }

    @Test
    void splitsHaveTheDocumentedSizesPerClass() {
        assertArrayEquals(new int[] {800, 800, 800, 800, 800, 400, 400, 400, 400, 400},
                perClass(FashionData.load("train"), 10));
        assertArrayEquals(new int[] {100, 100, 100, 100, 100, 100, 100, 100, 100, 100},
                perClass(FashionData.load("validation"), 10));
        assertArrayEquals(new int[] {200, 200, 200, 200, 200, 200, 200, 200, 200, 200},
                perClass(FashionData.load("test"), 10));
        assertThrows(IllegalArgumentException.class, () -> FashionData.load("nope"));
    }

    @Test
    void tasksRelabelTheirFiveClasses() {
        FashionData.Images all = FashionData.load("test");
        FashionData.Images b = FashionData.task(all, 5, 5);
        assertEquals(1000, b.count());
        assertArrayEquals(new int[] {200, 200, 200, 200, 200}, perClass(b, 5));
        // the first image of class 5+ in file order is the first of the task, pixels unchanged
        int first = 0;
        while (all.labels()[first] < 5) {
            first++;
        }
        for (int p = 0; p < FashionData.SIZE * FashionData.SIZE; p++) {
            assertEquals(all.pixels()[first * 784 + p], b.pixels()[p]);
        }
        assertEquals(all.labels()[first] - 5, b.labels()[0]);
        assertEquals(List.of("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"), FashionData.CLASSES.subList(5, 10));
    }

    @Test
    void batchesAreNormalisedNchwFloats() {
        FashionData.Images test = FashionData.task(FashionData.load("test"), 0, 5);
        List<FashionData.Batch> batches = FashionData.batches(test, 300);
        assertEquals(4, batches.size());
        assertEquals(100, batches.get(3).size());
        FashionData.Batch b = batches.get(0);
        assertArrayEquals(new long[] {300, 1, 28, 28}, b.images().shape());
        double background = (0 - FashionData.MEAN) / FashionData.STD;
        assertEquals(background, b.images().minNumber().doubleValue(), 1e-6, "0 maps to -mean/std");
        double mean = b.images().meanNumber().doubleValue();
        assertTrue(Math.abs(mean) < 0.5, "roughly centred, mean " + mean);
    }
}
