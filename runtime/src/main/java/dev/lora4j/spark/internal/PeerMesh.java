package dev.lora4j.spark.internal;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The training tasks of one Spark job, connected pairwise by TCP: task {@code i} connects to every
 * task {@code j > i} and accepts a connection from every {@code j < i}. {@link #allGather} sends
 * this task's message to every other task and returns every task's message, in task order, so
 * that each task can combine them in the same order. A peer that closes its connection (it failed,
 * or was killed) or stays silent past the timeout makes the exchange fail, naming it.
 */
public final class PeerMesh implements AutoCloseable {

    private static final int MAGIC = 0x4c6f5241; // "LoRA"

    private final int self;
    private final int timeoutMillis;
    private final Socket[] sockets;
    private final DataInputStream[] in;
    private final DataOutputStream[] out;
    private final ExecutorService senders;
    private long bytesSent;
    private long bytesReceived;
    private long exchanges;
    private long exchangeNanos;

    private PeerMesh(int self, Socket[] sockets, int timeoutMillis) throws IOException {
        this.self = self;
        this.timeoutMillis = timeoutMillis;
        this.sockets = sockets;
        this.in = new DataInputStream[sockets.length];
        this.out = new DataOutputStream[sockets.length];
        for (int j = 0; j < sockets.length; j++) {
            if (j != self) {
                in[j] = new DataInputStream(new BufferedInputStream(sockets[j].getInputStream(), 1 << 16));
                out[j] = new DataOutputStream(new BufferedOutputStream(sockets[j].getOutputStream(), 1 << 16));
            }
        }
        this.senders = sockets.length > 1 ? Executors.newFixedThreadPool(sockets.length - 1, r -> {
            Thread t = new Thread(r, "lora4j-mesh-" + self);
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** A server socket on any free port of every interface, for {@link #connect}. */
    public static ServerSocket listen(int backlog) {
        try {
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(0), backlog);
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a port for the training tasks' exchange", e);
        }
    }

    /**
     * Connects task {@code self} to the others.
     *
     * @param peers every task's address, in task order (this task's own included)
     * @param server this task's listening socket (its address is {@code peers.get(self)})
     * @param timeoutMillis how long to wait for a peer's connection or message
     */
    public static PeerMesh connect(int self, List<InetSocketAddress> peers, ServerSocket server, int timeoutMillis)
            throws IOException {
        int n = peers.size();
        Socket[] sockets = new Socket[n];
        try {
            for (int j = self + 1; j < n; j++) {
                Socket socket = new Socket();
                socket.connect(peers.get(j), timeoutMillis);
                configure(socket, timeoutMillis);
                DataOutputStream hello = new DataOutputStream(socket.getOutputStream());
                hello.writeInt(MAGIC);
                hello.writeInt(self);
                hello.flush();
                sockets[j] = socket;
            }
            server.setSoTimeout(timeoutMillis);
            for (int accepted = 0; accepted < self; accepted++) {
                Socket socket = server.accept();
                configure(socket, timeoutMillis);
                DataInputStream hello = new DataInputStream(socket.getInputStream());
                int magic = hello.readInt();
                int peer = hello.readInt();
                if (magic != MAGIC || peer < 0 || peer >= self || sockets[peer] != null) {
                    socket.close();
                    throw new IOException("task " + self + " was contacted by something that is not one of its peers"
                            + " (magic " + Integer.toHexString(magic) + ", task " + peer + ")");
                }
                sockets[peer] = socket;
            }
            return new PeerMesh(self, sockets, timeoutMillis);
        } catch (IOException | RuntimeException e) {
            for (Socket s : sockets) {
                if (s != null) {
                    s.close();
                }
            }
            throw e;
        }
    }

    private static void configure(Socket socket, int timeoutMillis) throws IOException {
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(timeoutMillis);
        socket.setSendBufferSize(1 << 20);
        socket.setReceiveBufferSize(1 << 20);
    }

    /** This task's index. */
    public int self() {
        return self;
    }

    /** The number of tasks. */
    public int size() {
        return sockets.length;
    }

    /**
     * Sends {@code message} to every other task and returns every task's message, in task order
     * ({@code message} itself at {@link #self()}).
     *
     * @throws UncheckedIOException naming the peer that failed
     */
    public byte[][] allGather(byte[] message) {
        long start = System.nanoTime();
        int n = sockets.length;
        List<Future<?>> sends = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            if (j != self) {
                int peer = j;
                sends.add(senders.submit(() -> {
                    out[peer].writeInt(message.length);
                    out[peer].write(message);
                    out[peer].flush();
                    return null;
                }));
            }
        }
        byte[][] all = new byte[n][];
        all[self] = message;
        for (int j = 0; j < n; j++) {
            if (j != self) {
                all[j] = receive(j);
                bytesReceived += 4 + all[j].length;
            }
        }
        for (Future<?> send : sends) {
            try {
                send.get();
            } catch (ExecutionException e) {
                throw new PeerLostException("task " + self + " could not send its message: " + e.getCause(),
                        new IOException(e.getCause()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while exchanging with the other tasks", e);
            }
            bytesSent += 4 + message.length;
        }
        exchanges++;
        exchangeNanos += System.nanoTime() - start;
        return all;
    }

    private byte[] receive(int peer) {
        try {
            int length = in[peer].readInt();
            byte[] message = new byte[length];
            in[peer].readFully(message);
            return message;
        } catch (EOFException e) {
            throw new PeerLostException("task " + peer + " closed its connection (it failed or was killed)", e);
        } catch (SocketTimeoutException e) {
            throw new PeerLostException("task " + peer + " sent nothing for " + timeoutMillis / 1000 + " s (hung or lost)",
                    e);
        } catch (IOException e) {
            throw new PeerLostException("lost the connection to task " + peer + ": " + e.getMessage(), e);
        }
    }

    /** Bytes this task sent so far. */
    public long bytesSent() {
        return bytesSent;
    }

    /** Bytes this task received so far. */
    public long bytesReceived() {
        return bytesReceived;
    }

    /** Calls of {@link #allGather} so far. */
    public long exchanges() {
        return exchanges;
    }

    /** Time spent in {@link #allGather} (sending, waiting, receiving), in nanoseconds. */
    public long exchangeNanos() {
        return exchangeNanos;
    }

    @Override
    public void close() {
        if (senders != null) {
            senders.shutdownNow();
        }
        for (Socket s : sockets) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing is best effort; the peers see the connection end either way
                }
            }
        }
    }
}
