package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The sweep rewrites only its table in RESULTS.md. */
class ResultsSweepTest {

    private static final String TABLE_V1 = ResultsSweep.BEGIN + "\n# MiniLM\n| r=8 | 0.59 |\n" + ResultsSweep.TABLE_END + "\n";
    private static final String TABLE_V2 = ResultsSweep.BEGIN + "\n# MiniLM\n| r=8 | 0.61 |\n" + ResultsSweep.TABLE_END + "\n";

    @Test
    void theDiscussionAndOtherSectionsAreKept() {
        String document = "intro\n" + TABLE_V1 + "\n## What the table says\n- hand-written\n\n<!-- BEGIN Vision -->\n## Vision\n";
        assertEquals("intro\n" + TABLE_V2 + "\n## What the table says\n- hand-written\n\n<!-- BEGIN Vision -->\n## Vision\n",
                ResultsSweep.replaceTable(document, TABLE_V2));
    }

    @Test
    void withoutMarkersTheTableGoesAboveTheOldText() {
        assertEquals(TABLE_V2 + "\n## Vision\n", ResultsSweep.replaceTable("## Vision\n", TABLE_V2));
        assertEquals(TABLE_V2, ResultsSweep.replaceTable("", TABLE_V2));
    }
}
