package dev.lora4j.testing;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The module tree of Hugging Face's {@code DistilBertForSequenceClassification} as far as the
 * PEFT fixture needs it: {@code distilbert.transformer.layer.{i}.attention.{q_lin, k_lin, v_lin}}
 * (768 × 768), {@code pre_classifier} (768 × 768) and {@code classifier} (768 → labels). Field names
 * are the Python attribute names, so module paths equal PEFT's. Weights are uniform in ±0.036
 * (about DistilBERT's scale), drawn from ND4J's generator seeded with {@code seed}. The forward
 * pass is only what the tests need: a residual stack of q/v projections and the head.
 */
public final class DistilBertLike extends Module {

    public static final int DIM = 768;

    /** {@code attention}. */
    public static final class Attention extends Module {
        public final Linear q_lin;
        public final Linear k_lin;
        public final Linear v_lin;

        Attention(int dim) {
            q_lin = linear(dim, dim);
            k_lin = linear(dim, dim);
            v_lin = linear(dim, dim);
        }
    }

    /** {@code transformer.layer.{i}}. */
    public static final class Block extends Module {
        public final Attention attention;

        Block(int dim) {
            attention = new Attention(dim);
        }
    }

    /** {@code transformer}. */
    public static final class Transformer extends Module {
        public final List<Block> layer = new ArrayList<>();
    }

    /** {@code distilbert}. */
    public static final class Body extends Module {
        public final Transformer transformer = new Transformer();
    }

    public final Body distilbert = new Body();
    public final Linear pre_classifier;
    public final Linear classifier;

    /** A model with {@code layers} blocks of size {@code dim} and {@code labels} outputs. */
    public DistilBertLike(int layers, int dim, int labels, long seed) {
        Nd4j.getRandom().setSeed(seed);
        for (int i = 0; i < layers; i++) {
            distilbert.transformer.layer.add(new Block(dim));
        }
        pre_classifier = linear(dim, dim);
        classifier = linear(dim, labels);
    }

    /** The fixture's shape: 6 layers of 768, 6 labels. */
    public static DistilBertLike forFixture(long seed) {
        return new DistilBertLike(6, DIM, 6, seed);
    }

    private static Linear linear(int in, int out) {
        INDArray w = Nd4j.rand(DataType.FLOAT, out, in).subi(0.5).muli(0.072);
        INDArray b = Nd4j.rand(DataType.FLOAT, out).subi(0.5).muli(0.02);
        return new Linear(new Parameter(w), new Parameter(b), false);
    }

    /** {@code x [batch, dim]} through {@code x + q(x) + v(x)} per layer, then the head. */
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (Block block : distilbert.transformer.layer) {
            h = h.add(block.attention.q_lin.forward(h)).add(block.attention.v_lin.forward(h));
        }
        return classifier.forward(pre_classifier.forward(h).relu());
    }
}
