"""ONNX models for Sibyl's interop tests, built with onnx's own helpers (not Sibyl's writer), and the
comparison with ONNX Runtime that says what a file computes.

    onnx_interop.py build OUTDIR           models Sibyl must import (OUTDIR/*.onnx) and models it must
                                           refuse (OUTDIR/refuse/*.onnx, with refuse/expected.json: the
                                           words each refusal must contain)
    onnx_interop.py compare MODEL INPUTS LOGITS [--rtol R]
                                           ONNX Runtime's logits of MODEL on INPUTS (.npy, N x C*H*W values,
                                           the normalised images in C-H-W order) against LOGITS (.npy,
                                           N x classes, Sibyl's): per image, max |a - b| <= R * max |b|.

    onnx_interop.py fold IN OUT            IN with every BatchNormalization folded into the Conv before it
                                           (what torch.onnx.export does in eval mode), nodes renamed
                                           PyTorch-style: a file in the form PyTorch users bring
    onnx_interop.py cifar MODEL DATA_DIR [LOGITS]
                                           ONNX Runtime's top-1 accuracy on the CIFAR-100 test set, the
                                           images normalised as the model's metadata says; with LOGITS
                                           (.npy, Sibyl's for the same images) also their agreement

The networks follow the CIFAR ResNets of He et al. (CVPR 2016, section 4.2) with 1x1 projection shortcuts,
in the forms exporters write them: batch norm folded into convolution biases (torch.onnx.export in eval
mode), or kept as BatchNormalization nodes with another epsilon (Keras: 1e-3); Gemm or MatMul + Add;
Flatten or Reshape; ReLU or polynomial activations written as sums of powers (Pow, Mul, Add).
"""
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed, folded=True, epsilon=1e-5):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.folded, self.epsilon, self.count = folded, epsilon, 0

    def name(self, tag):
        self.count += 1
        return f"/{tag}_{self.count}"

    def const(self, tag, array, dtype=np.float32):
        name = self.name(tag) + ".value"
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, tag, **attrs):
        name = self.name(tag)
        self.nodes.append(helper.make_node(op, inputs, [name + ".out"], name=name, **attrs))
        return name + ".out"

    def conv(self, x, cin, cout, k, stride, pad, tag):
        w = self.rng.standard_normal((cout, cin, k, k)) * math.sqrt(2.0 / (cin * k * k))
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        if self.folded:
            b = self.rng.uniform(-0.2, 0.2, cout)
            return self.node("Conv", [x, self.const("w", w), self.const("b", b)], tag, **attrs)
        y = self.node("Conv", [x, self.const("w", w)], tag, **attrs)
        gamma, beta = self.rng.uniform(0.5, 1.5, cout), self.rng.uniform(-0.3, 0.3, cout)
        mean, var = self.rng.uniform(-0.3, 0.3, cout), self.rng.uniform(0.5, 2.0, cout)
        return self.node("BatchNormalization", [y] + [self.const(t, v) for t, v in
                         (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))], tag + "_bn",
                         epsilon=self.epsilon)

    def relu(self, x, tag):
        return self.node("Relu", [x], tag)

    def polynomial(self, x, channels, degree, tag):
        """sum_k a_k x^k, per channel, a_k of shape [1, C, 1, 1]; x^k by Pow (k > 1)."""
        base = [0.2, 0.5, 0.25, 0.0, -0.01, 0.0, 0.001]
        y = self.const("a0", np.full((1, channels, 1, 1), base[0]) * self.rng.uniform(0.8, 1.2, (1, channels, 1, 1)))
        for k in range(1, degree + 1):
            power = x if k == 1 else self.node("Pow", [x, self.const("e", np.float32(k))], tag + "_pow")
            a = np.full((1, channels, 1, 1), base[k] if base[k] != 0 else 0.01) * self.rng.uniform(0.8, 1.2, (1, channels, 1, 1))
            term = self.node("Mul", [self.const("a", a), power], tag + "_mul")
            y = self.node("Add", [y, term], tag + "_add")
        return y

    def model(self, x, classes, inputs_dims, classifier, features, metadata=None, pool="global"):
        if pool == "global":
            pooled = self.node("GlobalAveragePool", [x], "pool")
        else:  # F.avg_pool2d(x, x.size(3)), as many CIFAR ResNets pool
            pooled = self.node("AveragePool", [x], "pool", kernel_shape=[8, 8], strides=[8, 8])
        if classifier == "gemm":
            flat = self.node("Flatten", [pooled], "flatten", axis=1)
            w = self.rng.standard_normal((classes, features)) / math.sqrt(features)
            logits = self.node("Gemm", [flat, self.const("fc_w", w), self.const("fc_b", self.rng.uniform(-0.1, 0.1, classes))],
                               "fc", transB=1)
        else:
            flat = self.node("Reshape", [pooled, self.const("shape", [0, -1], np.int64)], "reshape")
            w = self.rng.standard_normal((features, classes)) / math.sqrt(features)
            product = self.node("MatMul", [flat, self.const("fc_w", w)], "fc")
            logits = self.node("Add", [product, self.const("fc_b", self.rng.uniform(-0.1, 0.1, classes))], "fc_bias")
        graph = helper.make_graph(self.nodes, "net",
                                  [helper.make_tensor_value_info("image", TensorProto.FLOAT, inputs_dims)],
                                  [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", classes])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx_interop.py")
        model.ir_version = 7
        for key, value in (metadata or {}).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        return model


def resnet(depth, seed, classes=100, folded=True, epsilon=1e-5, classifier="gemm", polynomial_slots=(), degree=2,
           inputs_dims=("N", 3, 32, 32), metadata=None, pool="global"):
    b = Builder(seed, folded, epsilon)
    slot = [0]

    def act(x, channels, tag):
        slot[0] += 1
        if slot[0] - 1 in polynomial_slots:
            return b.polynomial(x, channels, degree, tag)
        return b.relu(x, tag)

    x = act(b.conv("image", 3, 16, 3, 1, 1, "stem"), 16, "stem_act")
    cin, n = 16, (depth - 2) // 6
    for stage, (cout, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
        for i in range(n):
            s = stride if i == 0 else 1
            tag = f"layer{stage + 1}.{i}"
            y = act(b.conv(x, cin, cout, 3, s, 1, tag + "_conv1"), cout, tag + "_act1")
            z = b.conv(y, cout, cout, 3, 1, 1, tag + "_conv2")
            shortcut = b.conv(x, cin, cout, 1, s, 0, tag + "_short") if (s != 1 or cin != cout) else x
            x = act(b.node("Add", [z, shortcut], tag + "_add"), cout, tag + "_act2")
            cin = cout
    return b.model(x, classes, list(inputs_dims), classifier, 64, metadata, pool)


def refusals(directory):
    """Models Sibyl must refuse, with the words the refusal must contain."""
    expected = {}

    def save(name, model, words):
        onnx.save(model, os.path.join(directory, name + ".onnx"))
        expected[name] = words

    m = resnet(8, 11)
    stem = next(n for n in m.graph.node if n.op_type == "Relu")
    stem.op_type = "Sigmoid"
    save("sigmoid", m, [stem.name, "Sigmoid", "not an operator"])

    m = resnet(8, 12)
    conv = next(n for n in m.graph.node if n.op_type == "Conv" and "layer1" in n.name)
    conv.attribute.append(helper.make_attribute("group", 2))
    save("grouped", m, [conv.name, "group 2"])

    save("dynamic", resnet(8, 13, inputs_dims=("N", 3, "H", "W")), ["[N, 3, H, W]", "dynamic"])

    m = resnet(8, 14)
    first = m.graph.initializer[0]
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(first).astype(np.float16), first.name))
    save("float16", m, [first.name, "float16", "float32"])

    save("resnet26", resnet(26, 15), ["none of Sibyl's architectures", "Closest"])

    m = resnet(8, 16)
    relu = next(n for n in m.graph.node if n.op_type == "Relu")
    square = helper.make_node("Mul", [relu.output[0], relu.output[0]], ["squared_relu"], name="square_of_relu")
    consumer = next(n for n in m.graph.node if relu.output[0] in n.input and n is not relu)
    for i, value in enumerate(consumer.input):
        if value == relu.output[0]:
            consumer.input[i] = "squared_relu"
    index = list(m.graph.node).index(relu)
    m.graph.node.insert(index + 1, square)
    save("relu-squared", m, ["square_of_relu", "ReLU"])

    m = resnet(8, 17)
    out = m.graph.output[0]
    m.graph.node.append(helper.make_node("Softmax", [out.name], ["probabilities"], name="softmax", axis=1))
    out.name = "probabilities"
    save("softmax", m, ["softmax", "Softmax"])

    m = resnet(8, 18, polynomial_slots=(0,), degree=2)
    coefficient = next(t for t in m.graph.initializer if t.name.startswith("/a_"))
    values = numpy_helper.to_array(coefficient)
    coefficient.CopyFrom(numpy_helper.from_array(values.reshape(values.size, 1, 1, 1), coefficient.name))
    save("batch-axis-constant", m, ["does not broadcast per channel", "[16, 1, 1]"])

    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


def build(directory):
    os.makedirs(os.path.join(directory, "refuse"), exist_ok=True)
    models = {
        "resnet8-folded": resnet(8, 1),
        "resnet8-bn-matmul": resnet(8, 2, folded=False, epsilon=1e-3, classifier="matmul", classes=10),
        "resnet8-polynomial": resnet(8, 3, polynomial_slots=(0, 2), degree=2),
        "resnet8-degree4": resnet(8, 4, folded=False, polynomial_slots=(1,), degree=4),
        "resnet20-folded": resnet(20, 5),
        "resnet20-window-pool": resnet(20, 8, pool="window", classifier="matmul"),
        "resnet32-folded": resnet(32, 6),
        "resnet32-bn": resnet(32, 7, folded=False, metadata={
            "sibyl.normalization": json.dumps({"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})}),
    }
    for name, model in models.items():
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, os.path.join(directory, name + ".onnx"))
    refusals(os.path.join(directory, "refuse"))
    print("built", ", ".join(sorted(models)))


def compare(model, inputs, logits, rtol):
    import onnxruntime as ort
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.load(inputs).astype(np.float32).reshape([-1] + list(session.get_inputs()[0].shape[1:]))
    expected = np.load(logits)
    got = session.run(None, {session.get_inputs()[0].name: x})[0].astype(np.float64)
    if got.shape != expected.shape:
        print(f"shape: ONNX Runtime {got.shape}, Sibyl {expected.shape}")
        return 1
    worst = 0.0
    for a, b in zip(expected, got):
        worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)))
    print(f"{os.path.basename(model)}: {len(x)} inputs, largest relative difference {worst:.2e} (allowed {rtol:.0e})")
    return 0 if worst <= rtol else 1


def fold(source, target):
    model = onnx.load(source)
    graph = model.graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers = {n.output[0]: n for n in graph.node}
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    kept = []
    renamed = {}
    for n in graph.node:
        if n.op_type == "BatchNormalization":
            conv = producers[n.input[0]]
            assert conv.op_type == "Conv" and len(consumers[conv.output[0]]) == 1
            gamma, beta, mean, var = (weights[i].astype(np.float64) for i in n.input[1:5])
            epsilon = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
            scale = gamma / np.sqrt(var + epsilon)
            w = weights[conv.input[1]].astype(np.float64) * scale[:, None, None, None]
            b = (weights[conv.input[2]].astype(np.float64) if len(conv.input) > 2 else 0) * scale + beta - mean * scale
            weights[conv.input[1]] = w.astype(np.float32)
            bias_name = conv.input[1] + ".folded_bias"
            weights[bias_name] = b.astype(np.float32)
            del conv.input[2:]
            conv.input.append(bias_name)
            renamed[n.output[0]] = conv.output[0]
            continue
        kept.append(n)
    for index, n in enumerate(kept):
        for i, name in enumerate(n.input):
            n.input[i] = renamed.get(name, name)
        n.name = f"/{n.op_type.lower()}_{index}/{n.op_type}"
    for output in graph.output:
        output.name = renamed.get(output.name, output.name)
    used = {i for n in kept for i in n.input}
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in weights.items() if k in used)
    model.producer_name = "onnx_interop.py fold"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, target)
    print(f"folded {source} -> {target}: {len(kept)} nodes")


def cifar(model, data_dir, logits=None):
    import onnxruntime as ort
    m = onnx.load(model)
    meta = {p.key: p.value for p in m.metadata_props}
    normalization = json.loads(meta["sibyl.normalization"])
    raw = np.fromfile(os.path.join(data_dir, "cifar-100-binary", "test.bin"), dtype=np.uint8).reshape(10000, 3074)
    labels = raw[:, 1].astype(np.int64)
    mean = np.array(normalization["mean"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(normalization["std"], dtype=np.float32).reshape(1, 3, 1, 1)
    images = ((raw[:, 2:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255)) - mean) / std
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = np.concatenate([session.run(None, {name: images[i:i + 500]})[0] for i in range(0, 10000, 500)])
    top1 = out.argmax(1)
    print(f"{os.path.basename(model)}: ONNX Runtime top-1 {np.mean(top1 == labels):.4f} on 10000 CIFAR-100 test images")
    if logits:
        theirs = np.load(logits)
        n = len(theirs)
        out, top1, labels = out[:n], top1[:n], labels[:n]
        print(f"  on the first {n} images: ONNX Runtime top-1 {np.mean(top1 == labels):.4f}")
        finite = np.isfinite(theirs).all(1) & np.isfinite(out).all(1)
        worst = float(np.max(np.abs(theirs - out)[finite].max(1) / np.abs(out[finite]).max(1)))
        print(f"  Sibyl top-1 {np.mean(theirs.argmax(1) == labels):.4f}; top-1 agreement {np.mean(theirs.argmax(1) == top1):.4f}; "
              f"largest relative logit difference {worst:.2e} over the {finite.sum()} images whose logits are finite in both "
              f"(non-finite: Sibyl {(~np.isfinite(theirs).all(1)).sum()}, ONNX Runtime {(~np.isfinite(out).all(1)).sum()})")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "build":
        build(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "compare":
        rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 1e-4
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4], rtol))
    elif len(sys.argv) == 4 and sys.argv[1] == "fold":
        fold(sys.argv[2], sys.argv[3])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "cifar":
        cifar(*sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
