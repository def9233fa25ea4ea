package dev.lora4j.samples.tiny;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.lora4j.api.LoraIndex;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The processor ran on the samples: their index lists exactly the classes with @LoRA fields. */
class LoraIndexResourceTest {

    @Test
    void theSamplesIndexListsTheAnnotatedClassesAndFields() throws IOException {
        URL resource = samplesIndex();
        assertNotNull(resource, LoraIndex.RESOURCE + " next to the sample classes");
        try (Reader reader = new InputStreamReader(resource.openStream(), StandardCharsets.UTF_8)) {
            Map<String, List<String>> index = LoraIndex.parse(reader);
            assertEquals(List.of("query", "value"), index.get(CausalSelfAttention.class.getName()));
            assertFalse(index.containsKey(TinyLm.class.getName()), "TinyLm declares no @LoRA field itself");
            assertFalse(index.containsKey(TinyBlock.class.getName()));
        }
        assertEquals(List.of("query", "value"), LoraIndex.load(getClass().getClassLoader())
                .get(CausalSelfAttention.class.getName()), "what the agent reads");
    }

    /** The index that sits in the same classpath root as the sample classes. */
    private static URL samplesIndex() throws IOException {
        String classes = TinyLm.class.getProtectionDomain().getCodeSource().getLocation().toString();
        for (URL url : Collections.list(TinyLm.class.getClassLoader().getResources(LoraIndex.RESOURCE))) {
            if (url.toString().contains(classes.replaceFirst("^file:", ""))) {
                return url;
            }
        }
        return null;
    }
}
