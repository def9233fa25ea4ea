package dev.lora4j.lora;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Parameter;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA on an {@link Embedding}, as PEFT computes it: {@code y = W[ids] + s·Aᵀ[ids]·Bᵀ} with
 * {@code A [r, vocabulary]} and {@code B [dim, r]}; by default A starts at zero and B standard
 * normal. PEFT applies no dropout to embedding adapters, and neither does this class.
 *
 * <p><b>DoRA.</b> A DoRA adapter has a magnitude {@code m [dim]} and stands for the table {@code m ⊙
 * (W + s·(B·A)ᵀ) / ‖W + s·(B·A)ᵀ‖}, the norm per embedding dimension (a column of the {@code
 * [vocabulary, dim]} table, taken over the vocabulary), as PEFT's {@code DoraEmbeddingLayer}: with
 * {@code g = m / ‖·‖} detached, the output so far becomes {@code g·y + g·s·Aᵀ[ids]·Bᵀ}.
 */
public final class LoraEmbedding extends LoraLayer implements LayerAdapters.OnIds {

    private final Embedding base;

    /** Adapters for {@code base}, not yet attached: {@link LoraLayers#attach(Embedding)} makes and attaches them. */
    LoraEmbedding(Embedding base) {
        super(base);
        this.base = base;
    }

    @Override
    public String aName() {
        return "lora_embedding_A";
    }

    @Override
    public String bName() {
        return "lora_embedding_B";
    }

    @Override
    public long[] aShape(int rank) {
        return new long[] {rank, base.vocabulary()};
    }

    @Override
    public long[] bShape(int rank) {
        return new long[] {base.dim(), rank};
    }

    /** DoRA adapters can sit on an embedding. */
    @Override
    public boolean supportsDora() {
        return true;
    }

    /** The table is {@code [vocabulary, dim]}: the output features (dimensions) are its columns. */
    @Override
    boolean outputsAreColumns() {
        return true;
    }

    @Override
    Parameter[] createFactors(AdapterSettings spec, Random random) {
        long vocabulary = base.vocabulary();
        long dim = base.dim();
        int r = spec.rank();
        INDArray a = spec.init() == dev.lora4j.api.LoraInit.RANDOM
                ? Init.normal(random, 1.0, r, vocabulary)
                : Nd4j.zeros(base.weight().dataType(), r, vocabulary);
        INDArray b = Init.normal(random, 1.0, dim, r);
        return new Parameter[] {
            new Parameter(DataTypes.match(a, base.weight())), new Parameter(DataTypes.match(b, base.weight()))
        };
    }

    @Override
    public INDArray deltaWeight(LoraAdapter adapter) {
        // [vocabulary, dim] = (B·A)ᵀ = Aᵀ·Bᵀ
        return Gemm.product(adapter.a().value(), adapter.b().value(), true, true).muli(adapter.scaling());
    }

    /**
     * Adds the active adapters' updates for {@code ids} to the base lookup {@code y}, in order; a
     * DoRA adapter adds {@code (g − 1)·out + g·s·Aᵀ[ids]·Bᵀ} to the output so far {@code out}, as
     * PEFT's {@code DoraEmbeddingVariant} makes it {@code g·out + g·s·Aᵀ[ids]·Bᵀ}.
     */
    @Override
    public Tensor addUpdates(INDArray ids, Tensor y) {
        Tensor out = y;
        for (LoraAdapter adapter : unmergedActive()) {
            Tensor afterA = Functional.embedding(ids, adapter.a().transpose());
            Tensor lora = afterA.matmulTransposed(adapter.b()).mul(adapter.scaling());
            out = adapter.isDora()
                    ? out.add(Functional.doraTerm(out, lora, adapter.magnitude(), doraWeightNorm(adapter)))
                    : out.add(lora);
        }
        return out;
    }

    /** The adapted layer. */
    public Embedding base() {
        return base;
    }
}
