#!/usr/bin/python3
"""PyTorch oracle for the engine's numbers (test/unit/oracle.test.ts).

Rebuilds a Gradient Monitor model from its config layers in float64 PyTorch, independently of TensorFlow.js:
the layer formulas are torch's own (the LSTM and RNN kernels behind nn.LSTM and nn.RNN, F.conv1d,
F.batch_norm, F.layer_norm, F.cross_entropy, torch.optim, torch.nn.utils.clip_grad_*), except the GRU, which
is written out by hand because tfjs uses the original formulation (Cho et al. 2014: the reset gate multiplies
h before the recurrent matrix product) where torch's nn.GRU applies it after. The config's defaults are
applied here from the documentation (recurrentActivation sigmoid, epsilon 1e-3, ...), not read from the
engine. Weights arrive in the tfjs layouts and stay the autograd leaves, so gradients come back in the same
layouts: Dense kernel [in, out], recurrent kernel [in, k*u] with gates LSTM i|f|c|o and GRU z|r|h, recurrent
kernel [u, k*u], one bias [k*u], Conv1D kernel [k, in, out], Embedding [vocab, dim].

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout, so that a test file pays
torch's import once. The first line written is a greeting: {"ready": true, "torch": "<version>"}.

Request {"id", "layers": [user layer configs, each with its "name"], "loss": "<config loss>",
         "weights": {name: {"shape", "data"}}, "batches": [{"x": {"shape", "data"}, "y": {"shape", "data"}}],
         "optimizer": {config optimizer} (optional: no update without it), "clipping": [{"mode", "threshold"}]}
For each batch in turn: loss, gradients, clipping (torch.nn.utils), one torch.optim step.
Reply {"id", "ok": true, "steps": [{"loss", "grads" (before clipping), "variableNorms", "layerNorms",
       "globalNorm", "clippedGlobalNorm"}], "weights": {name: flat list, after the updates}}
   or {"id", "ok": false, "error"}.
"""

import json
import math
import sys
import traceback

try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # the test prints how to install it
    print(json.dumps({"ready": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
    sys.exit(0)

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

DTYPE = torch.float64


class Unsupported(Exception):
    pass


def activation(name, x, layer):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "relu6":
        return torch.clamp(x, 0, 6)
    if name == "tanh":
        return torch.tanh(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "hardSigmoid":  # Keras: clip(0.2x + 0.5, 0, 1)
        return torch.clamp(0.2 * x + 0.5, 0, 1)
    if name == "softmax":
        return torch.softmax(x, -1)
    if name == "elu":
        return F.elu(x)
    if name == "selu":
        return F.selu(x)
    if name == "softplus":
        return F.softplus(x)
    if name == "softsign":
        return F.softsign(x)
    if name == "swish":
        return x * torch.sigmoid(x)
    if name == "leakyRelu":
        alpha = layer.get("alpha")
        return F.leaky_relu(x, 0.3 if alpha is None else alpha)  # Keras' default slope
    raise Unsupported(f"activation {name!r}")


def tensor(spec, dtype=DTYPE):
    return torch.tensor(spec["data"], dtype=dtype).reshape(spec["shape"])


class Model:
    """The config's layers as a function of named leaf tensors in tfjs layouts."""

    def __init__(self, layers, loss, weights):
        self.layers = layers
        self.loss_name = loss
        self.params = {name: tensor(spec).requires_grad_(True) for name, spec in weights.items()}
        self.order = list(weights.keys())
        last = layers[-1]
        last_act = self.layer_activation(last)
        ce = loss in ("sparseCategoricalCrossentropy", "categoricalCrossentropy")
        bce = loss == "binaryCrossentropy"
        if ce and last_act not in ("softmax", "linear"):
            raise Unsupported(f"cross-entropy after a {last_act} output")
        if bce and last_act not in ("sigmoid", "linear"):
            raise Unsupported(f"binary cross-entropy after a {last_act} output")
        # Softmax/sigmoid + cross-entropy is computed from the logits: the same function, written stably.
        self.logits = ce or bce

    @staticmethod
    def layer_activation(layer):
        t = layer["type"]
        if t in ("dense", "conv1d"):
            return layer.get("activation", "linear")
        if t in ("simpleRNN", "lstm", "gru"):
            return layer.get("activation", "tanh")
        if t == "activation":
            return layer["activation"]
        return None

    def p(self, layer, role):
        key = f"{layer['name']}/{role}"
        if key not in self.params:
            raise Unsupported(f"missing weight {key}")
        return self.params[key]

    def has(self, layer, role):
        return f"{layer['name']}/{role}" in self.params

    def forward(self, x):
        h = x
        for i, layer in enumerate(self.layers):
            t = layer["type"]
            if layer.get("bidirectional"):
                raise Unsupported("bidirectional")
            act = self.layer_activation(layer)
            if i == len(self.layers) - 1 and self.logits:
                act = "linear"
            if t == "dense":
                h = h @ self.p(layer, "kernel")  # matmul on the last axis, as tfjs-layers' Dense
                if layer.get("useBias", True):
                    h = h + self.p(layer, "bias")
                h = activation(act, h, layer)
            elif t == "embedding":
                h = F.embedding(h.long(), self.p(layer, "embeddings"))
            elif t == "simpleRNN":
                h = self.simple_rnn(layer, h)
            elif t == "lstm":
                h = self.lstm(layer, h)
            elif t == "gru":
                h = self.gru(layer, h)
            elif t == "conv1d":
                h = activation(act, self.conv1d(layer, h), layer)
            elif t == "globalMaxPooling1d":
                h = self.global_max(h)
            elif t == "globalAveragePooling1d":
                h = h.mean(1)
            elif t == "maxPooling1d":
                pool = layer.get("poolSize", 2)
                stride = layer.get("strides") or pool
                h = F.max_pool1d(h.transpose(1, 2), pool, stride).transpose(1, 2)
            elif t == "flatten":
                h = h.reshape(h.shape[0], -1)
            elif t == "dropout":
                if layer.get("rate", 0) != 0:
                    raise Unsupported("dropout with rate > 0 (its random mask cannot be reproduced)")
            elif t == "batchNormalization":
                # Training mode: the batch's mean and biased variance over every axis but the last.
                eps = layer.get("epsilon", 1e-3)
                flat = h.reshape(-1, h.shape[-1])
                flat = F.batch_norm(flat, None, None, self.p(layer, "gamma"), self.p(layer, "beta"), training=True, eps=eps)
                h = flat.reshape(h.shape)
            elif t == "layerNormalization":
                eps = layer.get("epsilon", 1e-3)
                h = F.layer_norm(h, (h.shape[-1],), self.p(layer, "gamma"), self.p(layer, "beta"), eps)
            elif t == "activation":
                h = activation(act, h, layer)
            else:
                raise Unsupported(f"layer type {t!r}")
        return h

    @staticmethod
    def global_max(h):
        # amax spreads the gradient evenly over tied maxima (a valid subgradient); max(dim) would pick one.
        return h.amax(1)

    def gate_activations(self, layer):
        return layer.get("activation", "tanh"), layer.get("recurrentActivation", "sigmoid")

    def torch_recurrent(self, layer, x, kind, gates):
        """torch's own RNN/LSTM kernels (what nn.RNN and nn.LSTM call) on the layer's weights: torch's
        weight_ih is the tfjs kernel transposed, and tfjs' single bias is torch's bias_ih (bias_hh zero)."""
        units = layer["units"]
        use_bias = layer.get("useBias", True)
        weights = [self.p(layer, "kernel").t(), self.p(layer, "recurrent_kernel").t()]
        if use_bias:
            weights += [self.p(layer, "bias"), torch.zeros(gates * units, dtype=DTYPE)]
        h0 = torch.zeros(1, x.shape[0], units, dtype=DTYPE)
        # Arguments: input, hx, weights, has_biases, num_layers, dropout, train, bidirectional, batch_first.
        if kind == "lstm":
            out = torch.lstm(x, (h0, h0), weights, use_bias, 1, 0.0, True, False, True)[0]
        elif layer.get("activation", "tanh") == "relu":
            out = torch.rnn_relu(x, h0, weights, use_bias, 1, 0.0, True, False, True)[0]
        else:
            out = torch.rnn_tanh(x, h0, weights, use_bias, 1, 0.0, True, False, True)[0]
        return out if layer.get("returnSequences", False) else out[:, -1]

    def simple_rnn(self, layer, x):
        act = layer.get("activation", "tanh")
        if act not in ("tanh", "relu"):
            raise Unsupported(f"simpleRNN activation {act!r}")
        return self.torch_recurrent(layer, x, "rnn", 1)

    def lstm(self, layer, x):
        act, rec = self.gate_activations(layer)
        if (act, rec) != ("tanh", "sigmoid"):
            raise Unsupported(f"lstm with activation {act!r}, recurrentActivation {rec!r}")
        return self.torch_recurrent(layer, x, "lstm", 4)

    def gru(self, layer, x):
        # tfjs-layers' GRUCell (Cho et al. 2014): gates z|r|h in the kernel's columns, one bias, and the reset
        # gate applied to h before the product with the h-part of the recurrent kernel.
        act, rec = self.gate_activations(layer)
        units = layer["units"]
        kernel = self.p(layer, "kernel")
        recurrent = self.p(layer, "recurrent_kernel")
        bias = self.p(layer, "bias") if layer.get("useBias", True) else None
        h = torch.zeros(x.shape[0], units, dtype=DTYPE)
        outputs = []
        for t in range(x.shape[1]):
            mx = x[:, t] @ kernel
            if bias is not None:
                mx = mx + bias
            x_z, x_r, x_h = mx[:, :units], mx[:, units:2 * units], mx[:, 2 * units:]
            inner = h @ recurrent[:, :2 * units]
            z = activation(rec, x_z + inner[:, :units], layer)
            r = activation(rec, x_r + inner[:, units:], layer)
            hh = activation(act, x_h + (r * h) @ recurrent[:, 2 * units:], layer)
            h = z * h + (1 - z) * hh
            outputs.append(h)
        return torch.stack(outputs, 1) if layer.get("returnSequences", False) else h

    def conv1d(self, layer, x):
        kernel = self.p(layer, "kernel")  # [k, in, out] → torch [out, in, k]
        k = kernel.shape[0]
        stride = layer.get("strides", 1)
        dilation = layer.get("dilationRate", 1)
        padding = layer.get("padding", "valid")
        xc = x.transpose(1, 2)
        length = xc.shape[-1]
        if padding == "same":  # TensorFlow's rule: the odd pad goes at the end
            out_len = math.ceil(length / stride)
            total = max((out_len - 1) * stride + (k - 1) * dilation + 1 - length, 0)
            xc = F.pad(xc, (total // 2, total - total // 2))
        elif padding == "causal":
            xc = F.pad(xc, ((k - 1) * dilation, 0))
        bias = self.p(layer, "bias") if layer.get("useBias", True) else None
        return F.conv1d(xc, kernel.permute(2, 1, 0), bias, stride=stride, dilation=dilation).transpose(1, 2)

    def regularization(self):
        total = torch.zeros((), dtype=DTYPE)
        roles = {"kernelRegularizer": "kernel", "biasRegularizer": "bias", "recurrentRegularizer": "recurrent_kernel", "embeddingsRegularizer": "embeddings"}
        for layer in self.layers:
            for key, role in roles.items():
                reg = layer.get(key)
                if reg and self.has(layer, role):
                    w = self.p(layer, role)
                    total = total + reg.get("l1", 0) * w.abs().sum() + reg.get("l2", 0) * (w * w).sum()
        return total

    def loss(self, out, y):
        name = self.loss_name
        if name in ("sparseCategoricalCrossentropy", "categoricalCrossentropy"):
            value = F.cross_entropy(out, y.long().reshape(-1))
        elif name == "binaryCrossentropy":
            value = F.binary_cross_entropy_with_logits(out, y.to(DTYPE).reshape(out.shape))
        else:
            target = y.to(DTYPE).reshape(out.shape)
            if name == "meanSquaredError":
                value = F.mse_loss(out, target)
            elif name == "meanAbsoluteError":
                value = F.l1_loss(out, target)
            elif name == "huber":
                value = F.huber_loss(out, target, delta=1.0)
            else:
                raise Unsupported(f"loss {name!r}")
        return value + self.regularization()


def make_optimizer(spec, params):
    t = spec["type"]
    lr = spec.get("learningRate", 0.01)
    eps = spec.get("epsilon", 1e-7)
    if spec.get("schedule"):
        raise Unsupported("learning-rate schedules")
    if t == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if t == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=spec.get("momentum", 0.9), nesterov=spec.get("nesterov", False))
    if t == "adam":
        if spec.get("biasCorrection", True) is False:
            raise Unsupported("Adam without bias correction (torch.optim has none)")
        return torch.optim.Adam(params, lr=lr, betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)), eps=eps)
    if t == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=spec.get("rho", 0.9), eps=eps, momentum=spec.get("momentum", 0), centered=spec.get("centered", False))
    if t == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=spec.get("initialAccumulatorValue", 0.1), eps=eps)
    raise Unsupported(f"optimizer {t!r}")


def clip(params, clipping):
    for c in clipping:
        mode, threshold = c["mode"], c["threshold"]
        if mode == "value":
            torch.nn.utils.clip_grad_value_(params, threshold)
        elif mode == "norm":
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], threshold)
        elif mode == "globalNorm":
            torch.nn.utils.clip_grad_norm_(params, threshold)
        else:
            raise Unsupported(f"clipping mode {mode!r}")


def norm(tensors):
    return math.sqrt(sum(float((t * t).sum()) for t in tensors))


def flat(t):
    return t.detach().reshape(-1).tolist()


def run(request):
    model = Model(request["layers"], request["loss"], request["weights"])
    params = [model.params[n] for n in model.order]
    optimizer = make_optimizer(request["optimizer"], params) if request.get("optimizer") else None
    clipping = request.get("clipping") or []
    steps = []
    for batch in request["batches"]:
        x = tensor(batch["x"], torch.int64 if batch["x"].get("dtype") == "int32" else DTYPE)
        y = tensor(batch["y"])
        for p in params:
            p.grad = None
        value = model.loss(model.forward(x), y)
        value.backward()
        grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)).clone() for n, p in zip(model.order, params)}
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        step = {
            "loss": float(value),
            "grads": {n: flat(g) for n, g in grads.items()},
            "variableNorms": {n: norm([g]) for n, g in grads.items()},
            "layerNorms": {
                layer["name"]: norm([g for n, g in grads.items() if n.startswith(layer["name"] + "/")])
                for layer in request["layers"]
                if any(n.startswith(layer["name"] + "/") for n in grads)
            },
            "globalNorm": norm(grads.values()),
        }
        if clipping:
            clip(params, clipping)
            step["clippedGlobalNorm"] = norm([p.grad for p in params])
        if optimizer:
            optimizer.step()
        steps.append(step)
    return {"steps": steps, "weights": {n: flat(p) for n, p in zip(model.order, params)}}


def main():
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            reply = {"id": request_id, "ok": True, **run(request)}
        except Unsupported as e:
            reply = {"id": request_id, "ok": False, "error": f"the oracle does not model {e}"}
        except Exception as e:  # reported to the test, which fails with it
            reply = {"id": request_id, "ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
