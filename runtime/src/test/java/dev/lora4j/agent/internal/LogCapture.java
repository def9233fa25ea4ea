package dev.lora4j.agent.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects what the agent logs (System.Logger's default backend is java.util.logging). */
final class LogCapture extends Handler implements AutoCloseable {

    private final Logger logger = Logger.getLogger(AgentLog.NAME);
    private final Level previous;
    private final boolean parents;
    private final List<LogRecord> records = new ArrayList<>();

    LogCapture() {
        previous = logger.getLevel();
        parents = logger.getUseParentHandlers();
        logger.setLevel(Level.ALL);
        logger.setUseParentHandlers(false);
        logger.addHandler(this);
    }

    @Override
    public synchronized void publish(LogRecord record) {
        records.add(record);
    }

    synchronized List<LogRecord> at(Level level) {
        return records.stream().filter(r -> r.getLevel().equals(level)).toList();
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setLevel(previous);
        logger.setUseParentHandlers(parents);
    }
}
