package dev.lora4j.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One row of a comparison of ways to fine-tune the same job ({@code finetune --variants
 * head,lora4,full}): {@code head} (the head alone), {@code full} (every weight), {@code lora<r>}
 * (LoRA of rank r, alpha scaled with the rank as the options have it: alpha/r kept), {@code
 * lora<r>:<alpha>} (rank and alpha both given), and {@code dora<r>}, {@code dora<r>:<alpha>} for
 * DoRA.
 *
 * @param name the text it was parsed from, in lower case
 * @param mode what trains
 * @param rank the adapters' rank (LoRA and DoRA, else 0)
 * @param alpha the adapters' alpha, {@code null} to keep the options' alpha/rank ratio
 */
public record FineTuneVariant(String name, FineTuneMode mode, int rank, @Nullable Double alpha) {

    private static final Pattern ADAPTERS = Pattern.compile("(lora|dora)([1-9][0-9]*)(?::([0-9]+(?:\\.[0-9]+)?))?");

    /**
     * Parses one variant.
     *
     * @throws IllegalArgumentException naming the text and the accepted forms
     */
    public static FineTuneVariant parse(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals(FineTuneMode.HEAD_ONLY.optionName()) || t.equals(FineTuneMode.FULL.optionName())) {
            return new FineTuneVariant(t, FineTuneMode.parse(t), 0, null);
        }
        Matcher m = ADAPTERS.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("unknown variant '" + text + "'; use head, full, lora<rank> (e.g. lora8),"
                    + " lora<rank>:<alpha> (e.g. lora8:16), or the same with dora");
        }
        return new FineTuneVariant(t, FineTuneMode.parse(m.group(1)), Integer.parseInt(m.group(2)),
                m.group(3) == null ? null : Double.valueOf(m.group(3)));
    }

    /** Parses a comma-separated list, e.g. {@code head,lora2,lora8:16,full}; names must differ. */
    public static List<FineTuneVariant> parseList(List<String> texts) {
        List<FineTuneVariant> variants = new ArrayList<>();
        for (String text : texts) {
            FineTuneVariant v = parse(text);
            if (variants.stream().anyMatch(other -> other.name().equals(v.name()))) {
                throw new IllegalArgumentException("variant '" + v.name() + "' is given twice");
            }
            variants.add(v);
        }
        return variants;
    }

    /** The variant's subdirectory of the output: its name, {@code :} written {@code -} ({@code lora8-16}). */
    public String directory() {
        return name.replace(':', '-');
    }

    /**
     * {@code base} changed to this variant: its mode (at {@code job}'s learning rate for that mode
     * when it differs from the base's), rank and alpha, and its own subdirectory of the output.
     */
    public FineTuneOptions apply(FineTuneOptions base, FineTuneJob<?, ?> job) {
        Objects.requireNonNull(job, "job");
        FineTuneOptions.Builder b = base.toBuilder().mode(mode);
        if (mode != base.mode()) {
            b.learningRate(job.defaults(mode).learningRate());
        }
        if (mode.trainsAdapters()) {
            b.rank(rank).alpha(alpha != null ? alpha : base.alpha() * rank / base.rank());
        }
        if (base.outputDir() != null) {
            b.outputDir(base.outputDir().resolve(directory()));
        }
        return b.build();
    }
}
