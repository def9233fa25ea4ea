"""The PyTorch peer of lora4j's main-job training step, for side-by-side timing.

The same step as it/.../bench/MiniLmTraining: a MiniLM-L6-shaped BERT encoder (6 layers, hidden
384, 12 heads, intermediate 1536, exact GELU, post-LayerNorm, hidden dropout 0.1, no attention
dropout), LoRA r = 8, alpha = 16 on query and value (base frozen), mean pooling over real tokens,
a trained Linear(384, 6) head, cross-entropy, clipping to global norm 1, AdamW (lr 1e-4, no weight
decay). Weights are random: the timing does not depend on their values.

Protocol (driven by the Java benchmark, one process per thread setting, set through the
environment before torch loads: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and TORCH_THREADS):
argv = batch size, then the padded length of each batch of a round. The process prints "ready";
then for every line "round" on stdin it runs one training step per batch and prints the round's
milliseconds, for every line "ceiling N G" it times G float32 products of N x N matrices into a
preallocated output (the GEMM ceiling, measured as lora4j measures its own) and prints their
milliseconds; anything else ends it. With "--profile R" before the batch size it instead runs R
rounds under torch.profiler (after two untimed ones) and prints the operators by self CPU time.
"""
import math
import os
import sys
import time

import torch
from torch import nn

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
torch.manual_seed(7)

HIDDEN, HEADS, LAYERS, INTERMEDIATE, VOCAB, POSITIONS, CLASSES = 384, 12, 6, 1536, 30522, 512, 6
RANK, ALPHA, DROPOUT = 8, 16, 0.1


class LoraLinear(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.base = nn.Linear(features, features)
        self.base.requires_grad_(False)
        self.a = nn.Parameter(torch.empty(RANK, features))
        nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.b = nn.Parameter(torch.zeros(features, RANK))
        self.scaling = ALPHA / RANK

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scaling


def frozen_linear(i, o):
    layer = nn.Linear(i, o)
    layer.requires_grad_(False)
    return layer


def frozen_norm():
    norm = nn.LayerNorm(HIDDEN, eps=1e-12)
    norm.requires_grad_(False)
    return norm


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value = LoraLinear(HIDDEN), frozen_linear(HIDDEN, HIDDEN), LoraLinear(HIDDEN)
        self.attention_out, self.norm1 = frozen_linear(HIDDEN, HIDDEN), frozen_norm()
        self.up, self.down, self.norm2 = frozen_linear(HIDDEN, INTERMEDIATE), frozen_linear(INTERMEDIATE, HIDDEN), frozen_norm()
        self.dropout = nn.Dropout(DROPOUT)

    def heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, HEADS, HIDDEN // HEADS).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + additive_mask
        context = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(x.shape)
        attended = self.norm1(self.dropout(self.attention_out(context)) + x)
        return self.norm2(self.dropout(self.down(nn.functional.gelu(self.up(attended)))) + attended)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.words, self.positions, self.types = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(POSITIONS, HIDDEN), nn.Embedding(2, HIDDEN)
        for e in (self.words, self.positions, self.types):
            e.requires_grad_(False)
        self.norm, self.dropout = frozen_norm(), nn.Dropout(DROPOUT)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.head = nn.Linear(HIDDEN, CLASSES)

    def forward(self, ids, mask):
        t = ids.shape[1]
        positions = torch.arange(t).unsqueeze(0)
        x = self.dropout(self.norm(self.words(ids) + self.positions(positions) + self.types(torch.zeros_like(ids))))
        additive = (1.0 - mask[:, None, None, :]) * -1e9
        for layer in self.layers:
            x = layer(x, additive)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled)


def main():
    arguments = sys.argv[1:]
    profile_rounds = 0
    if arguments[0] == "--profile":
        profile_rounds, arguments = int(arguments[1]), arguments[2:]
    batch, lengths = int(arguments[0]), [int(a) for a in arguments[1:]]
    model = Classifier().train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    generator = torch.Generator().manual_seed(11)
    batches = []
    for t in lengths:
        ids = torch.randint(1000, VOCAB, (batch, t), generator=generator)
        mask = torch.ones(batch, t)
        labels = torch.randint(0, CLASSES, (batch,), generator=generator)
        batches.append((ids, mask, labels))
    loss_fn = nn.CrossEntropyLoss()
    def train_round():
        for ids, mask, labels in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(ids, mask), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()

    if profile_rounds:
        train_round()
        train_round()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
            for _ in range(profile_rounds):
                train_round()
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
        return
    operands = {}
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command.startswith("ceiling "):
            n, gemms = (int(w) for w in command.split()[1:])
            if n not in operands:
                operands[n] = (torch.rand(n, n), torch.rand(n, n), torch.empty(n, n))
            a, b, c = operands[n]
            start = time.perf_counter()
            for _ in range(gemms):
                torch.mm(a, b, out=c)
            print(f"{(time.perf_counter() - start) * 1e3:.3f}", flush=True)
            continue
        if command != "round":
            break
        start = time.perf_counter()
        train_round()
        print(f"{(time.perf_counter() - start) * 1e3:.3f}", flush=True)


if __name__ == "__main__":
    main()
