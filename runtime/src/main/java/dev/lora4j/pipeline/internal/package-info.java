/**
 * The fine-tune pipeline's plumbing: test logits and their scores, the run's files and curves.
 * Not API.
 */
@NullMarked
package dev.lora4j.pipeline.internal;

import org.jspecify.annotations.NullMarked;
