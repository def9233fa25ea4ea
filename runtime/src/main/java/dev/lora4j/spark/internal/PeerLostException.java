package dev.lora4j.spark.internal;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Another training task stopped answering: it closed its connection (it failed, or its executor
 * was lost), or sent nothing within the timeout. The failure of that task is the cause to report.
 */
public final class PeerLostException extends UncheckedIOException {

    private static final long serialVersionUID = 1L;

    /** A lost peer, described by {@code message}. */
    public PeerLostException(String message, IOException cause) {
        super(message, cause);
    }
}
