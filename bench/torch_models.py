"""The benchmark's models in PyTorch, as a user would write them instead: the reference for bench/run.js.

    /usr/bin/python3 bench/torch_models.py [--threads 1,2] [--seconds 4] [--models mlp,lstm,gru,simpleRNN,conv1d]

Prints one JSON object on stdout (bench/run.js reads it). Same shapes, same optimizer (Adam, lr 1e-3) and the
same step as the tfjs engine: forward, loss, backward, optimizer step, and the loss read back as a number
(the engine reads its loss every step). Timing: after a warm-up, blocks of steps alternate between the
thread counts so both see the same machine load; steps/s per block, median and quartiles over blocks.
Installs nothing: run.js checks that torch imports and says how to get it otherwise.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn

VOCAB, EMBED, UNITS, SEQ, TEXT_BATCH = 5000, 64, 64, 50, 32
MLP_BATCH = 64


class Recurrent(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        cell = {'lstm': nn.LSTM, 'gru': nn.GRU, 'simpleRNN': nn.RNN}[kind]
        self.rnn = cell(EMBED, UNITS, batch_first=True)
        self.dense = nn.Linear(UNITS, 2)

    def forward(self, x):
        out, _ = self.rnn(self.embedding(x))
        return self.dense(out[:, -1])


class Conv(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.conv = nn.Conv1d(EMBED, 64, 5)
        self.dense = nn.Linear(64, 2)

    def forward(self, x):
        h = torch.relu(self.conv(self.embedding(x).transpose(1, 2)))
        return self.dense(h.max(dim=2).values)


def build(kind, generator):
    if kind == 'mlp':
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
        batches = [(torch.rand(MLP_BATCH, 784, generator=generator), torch.randint(0, 10, (MLP_BATCH,), generator=generator)) for _ in range(8)]
    else:
        model = Conv() if kind == 'conv1d' else Recurrent(kind)
        batches = [(torch.randint(0, VOCAB, (TEXT_BATCH, SEQ), generator=generator), torch.randint(0, 2, (TEXT_BATCH,), generator=generator)) for _ in range(8)]
    return model, batches


def measure(kind, threads, seconds):
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model, batches = build(kind, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    counter = [0]

    def step():
        x, y = batches[counter[0] % len(batches)]
        counter[0] += 1
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    def block(n):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        return time.perf_counter() - t0

    # Warm-up, and a block length of ~0.25 s.
    for count in threads:
        torch.set_num_threads(count)
        block(3)
    torch.set_num_threads(threads[0])
    probe = block(5) / 5
    per_block = max(1, round(0.25 / probe))
    rates = {count: [] for count in threads}
    end = time.perf_counter() + seconds * len(threads)
    while time.perf_counter() < end or min(len(r) for r in rates.values()) < 5:
        for count in threads:
            torch.set_num_threads(count)
            rates[count].append(per_block / block(per_block))
    out = {}
    for count, r in rates.items():
        q = statistics.quantiles(r, n=4) if len(r) >= 2 else [r[0], r[0], r[0]]
        out[str(count)] = {'median': statistics.median(r), 'q1': q[0], 'q3': q[2], 'min': min(r), 'max': max(r), 'blocks': len(r), 'stepsPerBlock': per_block}
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', default='1,2')
    parser.add_argument('--seconds', type=float, default=4.0, help='timed seconds per model and thread count')
    parser.add_argument('--models', default='mlp,lstm,gru,simpleRNN,conv1d')
    a = parser.parse_args()
    threads = [int(t) for t in a.threads.split(',')]
    result = {
        'torch': torch.__version__,
        'python': sys.version.split()[0],
        'blas': next((line.split('BLAS_INFO=')[1].split(',')[0] for line in torch.__config__.show().splitlines() if 'BLAS_INFO=' in line), 'unknown'),
        'mkldnn': torch.backends.mkldnn.is_available(),
        'models': {},
    }
    for kind in a.models.split(','):
        result['models'][kind] = measure(kind, threads, a.seconds)
        print(f'[torch] {kind}: ' + ', '.join(f"{t} thread(s) {v['median']:.1f} steps/s" for t, v in result['models'][kind].items()), file=sys.stderr)
    json.dump(result, sys.stdout)
    print()


if __name__ == '__main__':
    main()
