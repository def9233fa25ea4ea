package dev.lora4j.it.bench;

import dev.lora4j.Lora;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Parameter;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.samples.minilm.MiniLm;
import dev.lora4j.samples.minilm.MiniLmClassifier;
import dev.lora4j.samples.minilm.MiniLmTokenizer;
import dev.lora4j.train.AdamW;
import dev.lora4j.train.GradientClipping;
import dev.lora4j.train.ParameterGroups;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import dev.lora4j.train.internal.DataParallel;
import dev.lora4j.train.internal.StepLoss;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The main job's training step, as {@code GenreFineTune} runs it by default: pretrained
 * all-MiniLM-L6-v2 with the agent's {@code @LoRA(rank = 8, alpha = 16)} adapters on query and
 * value and a trained classifier head, in training mode (hidden dropout 0.1); batches of 32
 * Brown-corpus sentences cut at 64 tokens; cross-entropy, backward, clipping to norm 1, AdamW.
 * The agent must be installed before this is built.
 */
public final class MiniLmTraining {

    /** The main job's batch size and token limit. */
    public static final int BATCH = 32;
    /** The main job's token limit. */
    public static final int MAX_LENGTH = 64;

    private final MiniLmClassifier model;
    private final List<Parameter> trainable;
    private final AdamW optimizer;
    private final CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
    /** The step's loss as a training task, for the workers and the calling-thread step alike. */
    private final TrainingTask<GenreData.Batch> task;
    private final List<GenreData.Batch> batches;
    private long parallelSteps;

    /**
     * The model and {@code count} training batches spread over the lengths of the whole training
     * split (the batches at evenly spaced quantiles of the padded length), so that a round of
     * them does about the work of an average stretch of an epoch.
     */
    public MiniLmTraining(int count) {
        model = new MiniLmClassifier(MiniLm.pretrained(), GenreData.LABELS.size(), new Random(42));
        Lora.adopt(model);
        model.trainHead();
        model.train();
        trainable = model.trainableParameters();
        if (trainable.size() != 2 + 6 * 2 * 2) {
            throw new IllegalStateException("expected the agent's adapters on 12 projections and the head, got "
                    + trainable.size() + " trainable parameters (is the agent installed?)");
        }
        optimizer = new AdamW(ParameterGroups.standard(model, 0.0));
        task = TrainingTask.of(
                (GenreData.Batch b) -> crossEntropy.compute(model.forward(b.inputIds(), b.attentionMask()), b.labels()),
                GenreData.Batch::size).withSlicer(GenreData.Batch::slice);
        List<GenreData.Batch> all;
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create(MAX_LENGTH)) {
            all = new ArrayList<>(GenreData.batches(GenreData.load(GenreData.Split.TRAIN), tokenizer, BATCH, 42));
        }
        all.removeIf(b -> b.size() != BATCH);
        all.sort(Comparator.comparingLong(GenreData.Batch::length));
        batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            batches.add(all.get((int) ((i + 0.5) * all.size() / count)));
        }
    }

    /** The batches one round trains on. */
    public List<GenreData.Batch> batches() {
        return batches;
    }

    /** One training step on each batch, on the calling thread ({@link #step}). */
    public void steps() {
        for (GenreData.Batch b : batches) {
            step(b);
        }
    }

    /**
     * The workers for data-parallel steps ({@link #steps(DataParallel)}): {@code workers} of them,
     * over this model; close them after use.
     */
    public DataParallel<GenreData.Batch> workers(int workers) {
        return DataParallel.create(model, task, TrainingConfig.builder().workers(workers).build(), trainable);
    }

    /** One data-parallel training step on each batch. */
    public void steps(DataParallel<GenreData.Batch> workers) {
        for (GenreData.Batch b : batches) {
            optimizer.zeroGrad();
            workers.lossAndGradients(b, b.size(), ++parallelSteps);
            GradientClipping.clipByGlobalNorm(trainable, 1.0);
            optimizer.step(1e-4);
        }
    }

    /**
     * One training step on the calling thread, its forward and backward pass through {@link
     * StepLoss} in the thread's step memory, as the {@code Trainer} runs a task without a slicer
     * (outside it, ND4J frees a step's arrays only when Java collects their objects: this loop on
     * one worker with two native threads grew a benchmark JVM to 19 GB resident with {@code -Xmx2g}
     * before the kernel killed it); returns the loss.
     */
    public double step(GenreData.Batch b) {
        optimizer.zeroGrad();
        double value = StepLoss.backward(task, b, 1.0);
        GradientClipping.clipByGlobalNorm(trainable, 1.0);
        optimizer.step(1e-4);
        return value;
    }

    /** Token positions computed per round (padding included). */
    public long paddedTokens() {
        return batches.stream().mapToLong(b -> b.size() * b.length()).sum();
    }

    /** Real tokens per round (the attention masks' ones). */
    public long realTokens() {
        return batches.stream().mapToLong(b -> b.attentionMask().sumNumber().longValue()).sum();
    }

    /** The model FLOPs of one round with every padded position computed (PyTorch's peer), counted by {@code flops}. */
    public EncoderFlops.Count flops(EncoderFlops flops) {
        return flops(flops, false);
    }

    /**
     * The model FLOPs of one round as lora4j's MiniLM computes them (the token-wise GEMMs for the
     * real tokens only), counted by {@code flops}.
     */
    public EncoderFlops.Count packedFlops(EncoderFlops flops) {
        return flops(flops, true);
    }

    private EncoderFlops.Count flops(EncoderFlops flops, boolean packed) {
        double forward = 0;
        double input = 0;
        double weight = 0;
        for (GenreData.Batch b : batches) {
            long tokens = packed ? b.attentionMask().sumNumber().longValue() : b.size() * b.length();
            EncoderFlops.Count c = flops.count(b.size(), b.length(), tokens);
            forward += c.forward();
            input += c.inputGradients();
            weight += c.weightGradients();
        }
        return new EncoderFlops.Count(forward, input, weight);
    }

    /** The conventional 6·N·tokens estimate of one round. */
    public double conventionalFlops(EncoderFlops flops) {
        return batches.stream().mapToDouble(b -> flops.conventional(b.size(), b.length())).sum();
    }

    /** The FLOP counter for this model. */
    public EncoderFlops counter() {
        MiniLm.Config c = model.encoder().config();
        return new EncoderFlops(c.layers(), c.hidden(), c.intermediate(), 8, 2, model.classes());
    }
}
