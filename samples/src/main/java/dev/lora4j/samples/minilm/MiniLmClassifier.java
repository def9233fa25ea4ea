package dev.lora4j.samples.minilm;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleSlot;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Sentence classification on {@link MiniLm}: the encoder's last hidden state, averaged over the
 * real tokens (sentence-transformers' mean pooling), then a {@code classifier} {@code Linear(384,
 * classes)} giving logits.
 *
 * <p><b>Module paths.</b> The encoder's modules sit at the root of this model's tree
 * ({@code embeddings...}, {@code encoder.layer.0.attention.self.query}) beside {@code classifier},
 * as they do in a Hugging Face {@code BertModel} with a head next to it. So an adapter saved from
 * this model has PEFT's keys for {@code sentence-transformers/all-MiniLM-L6-v2} itself
 * ({@code base_model.model.encoder.layer.0.attention.self.query.lora_A.weight}), and the head's
 * tensors are {@code base_model.model.classifier.weight} and {@code .bias}, as PEFT stores a
 * {@code modules_to_save} module. (The encoder is held in a {@code transient} field and its
 * children are listed here by {@link #childSlots()}; that is the only trick.)
 *
 * <p><b>The head trains in full.</b> The head is new (randomly initialised), so it must train
 * whatever else is frozen: PEFT's {@code modules_to_save}. {@code Lora.wrap} does that through
 * {@code LoraConfig.modulesToSave("classifier")}; when the adapters come from the {@code @LoRA}
 * annotations (the agent at construction), {@code Lora.adopt(model, HEAD)} does it. ({@code
 * Lora.adopt(model)} alone freezes every non-adapter parameter, head included.) Training the head
 * alone, a linear probe, is {@code freeze()} then {@link #trainHead()}.
 */
public final class MiniLmClassifier extends Module {

    /** The head's module path, the name to give {@code modulesToSave}. */
    public static final String HEAD = "classifier";

    private final transient MiniLm encoder;
    final Linear classifier;

    /** A classifier over {@code encoder} with a new head of {@code classes} outputs drawn from {@code random}. */
    public MiniLmClassifier(MiniLm encoder, int classes, Random random) {
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes);
        }
        this.encoder = encoder;
        this.classifier = new Linear(encoder.config().hidden(), classes, true, random);
    }

    /** The encoder's children ({@code embeddings}, {@code encoder}), then {@code classifier}. */
    @Override
    public List<ModuleSlot> childSlots() {
        List<ModuleSlot> slots = new ArrayList<>(encoder.childSlots());
        slots.addAll(super.childSlots());
        return slots;
    }

    /** The encoder. */
    public MiniLm encoder() {
        return encoder;
    }

    /** The classification head. */
    public Linear head() {
        return classifier;
    }

    /** The number of classes. */
    public int classes() {
        return Math.toIntExact(classifier.outFeatures());
    }

    /** Makes the head's weight and bias trainable (e.g. after {@code freeze()}, for a linear probe). */
    public void trainHead() {
        classifier.unfreeze();
    }

    /**
     * Logits {@code [batch, classes]} for token ids {@code [batch, time]}.
     *
     * @param attentionMask {@code [batch, time]}, 1 for tokens and 0 for padding, or {@code null}
     */
    public Tensor forward(INDArray inputIds, INDArray attentionMask) {
        return classifier.forward(encoder.sentenceEmbeddings(inputIds, attentionMask));
    }
}
