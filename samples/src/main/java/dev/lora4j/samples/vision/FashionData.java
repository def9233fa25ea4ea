package dev.lora4j.samples.vision;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Fashion-MNIST subset shipped in {@code data/fashion-mnist/} (see PROVENANCE.md there): 28×28
 * grayscale images in IDX files, split into train, validation and test, and into two tasks of five
 * classes each (0–4: T-shirt/top, trouser, pullover, dress, coat; 5–9: sandal, shirt, sneaker, bag,
 * ankle boot).
 */
public final class FashionData {

    /** Image height and width. */
    public static final int SIZE = 28;
    /** The class names, by label. */
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Fashion-MNIST's training-set pixel mean and standard deviation (pixels scaled to [0, 1]). */
    static final float MEAN = 0.2860f;
    static final float STD = 0.3530f;

    /**
     * Images and their labels.
     *
     * @param pixels {@code count × 28 × 28} bytes, row-major, 0 = background
     * @param labels one class per image
     */
    public record Images(byte[] pixels, int[] labels) {
        /** The number of images. */
        public int count() {
            return labels.length;
        }
    }

    /**
     * A batch for the CNN.
     *
     * @param images {@code [n, 1, 28, 28]} float32, normalised with {@link #MEAN} and {@link #STD}
     * @param labels one class per image
     */
    public record Batch(INDArray images, int[] labels) {
        /** The number of images. */
        public int size() {
            return labels.length;
        }
    }

    private FashionData() {}

    /** Reads {@code train}, {@code validation} or {@code test} from the classpath. */
    public static Images load(String split) {
        byte[] pixels = read("/data/fashion-mnist/" + split + "-images-idx3-ubyte.gz", 2051);
        byte[] labels = read("/data/fashion-mnist/" + split + "-labels-idx1-ubyte.gz", 2049);
        int[] classes = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            classes[i] = labels[i];
        }
        if (pixels.length != classes.length * SIZE * SIZE) {
            throw new IllegalStateException(split + ": " + pixels.length + " pixel bytes for " + classes.length + " labels");
        }
        return new Images(pixels, classes);
    }

    /** The body of an IDX file (after its header), checking the magic number and the 28×28 shape. */
    private static byte[] read(String resource, int magic) {
        try (InputStream raw = FashionData.class.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IllegalArgumentException("no " + resource + " on the classpath");
            }
            DataInputStream in = new DataInputStream(new GZIPInputStream(raw));
            int found = in.readInt();
            if (found != magic) {
                throw new IllegalStateException(resource + ": IDX magic " + found + ", expected " + magic);
            }
            int count = in.readInt();
            long size = count;
            if (magic == 2051) {
                int rows = in.readInt();
                int cols = in.readInt();
                if (rows != SIZE || cols != SIZE) {
                    throw new IllegalStateException(resource + ": images are " + rows + "x" + cols);
                }
                size *= SIZE * SIZE;
            }
            byte[] body = new byte[Math.toIntExact(size)];
            in.readFully(body);
            return body;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }

    /**
     * The images of classes {@code first … first + classes − 1}, relabelled {@code 0 … classes − 1},
     * in file order.
     */
    public static Images task(Images all, int first, int classes) {
        int n = 0;
        for (int label : all.labels()) {
            if (label >= first && label < first + classes) {
                n++;
            }
        }
        byte[] pixels = new byte[n * SIZE * SIZE];
        int[] labels = new int[n];
        int at = 0;
        for (int i = 0; i < all.count(); i++) {
            int label = all.labels()[i];
            if (label >= first && label < first + classes) {
                System.arraycopy(all.pixels(), i * SIZE * SIZE, pixels, at * SIZE * SIZE, SIZE * SIZE);
                labels[at++] = label - first;
            }
        }
        return new Images(pixels, labels);
    }

    /** Consecutive batches of {@code size} images (the last may be smaller); the files are in random order. */
    public static List<Batch> batches(Images images, int size) {
        List<Batch> out = new ArrayList<>();
        for (int start = 0; start < images.count(); start += size) {
            int end = Math.min(images.count(), start + size);
            out.add(batch(images, start, end));
        }
        return out;
    }

    /** Images {@code [start, end)} as a batch. */
    public static Batch batch(Images images, int start, int end) {
        int n = end - start;
        int pixelsPerImage = SIZE * SIZE;
        float[] values = new float[n * pixelsPerImage];
        for (int i = 0; i < values.length; i++) {
            values[i] = ((images.pixels()[start * pixelsPerImage + i] & 0xff) / 255f - MEAN) / STD;
        }
        int[] labels = new int[n];
        System.arraycopy(images.labels(), start, labels, 0, n);
        return new Batch(Nd4j.createFromArray(values).reshape('c', n, 1, SIZE, SIZE), labels);
    }
}
