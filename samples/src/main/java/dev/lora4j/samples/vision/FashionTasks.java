package dev.lora4j.samples.vision;

/**
 * The two tasks of the vision sample, each split three ways: A, classes 0–4 (pretraining), and B,
 * classes 5–9 (adaptation), with labels renumbered 0–4 in both.
 */
public record FashionTasks(FashionData.Images trainA, FashionData.Images validationA, FashionData.Images testA,
        FashionData.Images trainB, FashionData.Images validationB, FashionData.Images testB) {

    /** Reads the shipped Fashion-MNIST subset and splits it into the two tasks. */
    public static FashionTasks load() {
        FashionData.Images train = FashionData.load("train");
        FashionData.Images validation = FashionData.load("validation");
        FashionData.Images test = FashionData.load("test");
        return new FashionTasks(FashionData.task(train, 0, 5), FashionData.task(validation, 0, 5),
                FashionData.task(test, 0, 5), FashionData.task(train, 5, 5), FashionData.task(validation, 5, 5),
                FashionData.task(test, 5, 5));
    }
}
