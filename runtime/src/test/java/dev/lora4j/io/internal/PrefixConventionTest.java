package dev.lora4j.io.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.AdapterException;
import org.junit.jupiter.api.Test;

class PrefixConventionTest {

    @Test
    void aWrapperTheBaseDropsIsDroppedFromAddedNamesAndNamesOutsideItStay() {
        PrefixConvention convention = new PrefixConvention();
        convention.learn("distilbert.transformer.layer.0.attention.q_lin.weight", "transformer.layer.0.attention.q_lin.weight");
        convention.learn("distilbert.transformer.layer.1.attention.q_lin.weight", "transformer.layer.1.attention.q_lin.weight");
        assertEquals("embeddings.extra.weight", convention.apply("distilbert.embeddings.extra.weight", "t"));
        assertEquals("classifier.weight", convention.apply("classifier.weight", "t"), "a head outside the wrapper");
    }

    @Test
    void aSwappedWrapperIsSwappedAndAPrefixIsNeverAdded() {
        PrefixConvention swapped = new PrefixConvention();
        swapped.learn("transformer.h.0.attn.c_attn.weight", "model.h.0.attn.c_attn.weight");
        assertEquals("model.ln_f.weight", swapped.apply("transformer.ln_f.weight", "t"));
        assertEquals("score.weight", swapped.apply("score.weight", "t"));

        PrefixConvention added = new PrefixConvention();
        added.learn("transformer.layer.0.q_lin.weight", "distilbert.transformer.layer.0.q_lin.weight");
        added.learn("h.0.q.weight", "h.0.q.weight");
        assertEquals("classifier.weight", added.apply("classifier.weight", "t"), "the base's extra prefix is not added");
    }

    @Test
    void neighboursNamedTwoWaysMakeTheNameAmbiguous() {
        PrefixConvention convention = new PrefixConvention();
        convention.learn("distilbert.layer.0.q.weight", "layer.0.q.weight");
        convention.learn("distilbert.layer.1.q.weight", "encoder.layer.1.q.weight");
        AdapterException e = assertThrows(AdapterException.class, () -> convention.apply("distilbert.extra.weight",
                "tensor 'x'"));
        assertTrue(e.getMessage().contains("tensor 'x'") && e.getMessage().contains("layer.0") == false
                && e.getMessage().contains("extra.weight") && e.getMessage().contains("encoder.extra.weight"), e.getMessage());
    }
}
