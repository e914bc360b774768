"""The evaluation MLP in torch (``evaluate.mlp.backend: torch``), on the GPU when present.

It follows scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` with the settings used
here: Glorot-uniform initial weights and biases (bound sqrt(6 / (fan_in + fan_out))),
ReLU hidden layers, Adam (lr from the settings, betas 0.9/0.999, eps 1e-8), minibatches
of min(200, n) reshuffled every epoch, L2 penalty alpha = 1e-4 as
``alpha/2 * sum(W^2) / batch``, softmax cross-entropy (classification; also for two
classes, where scikit-learn uses one logistic unit), binary cross-entropy of one sigmoid
output per tag, summed over tags and averaged over tracks (tagging, as scikit-learn's
multi-label loss), or half mean squared error (regression), and scikit-learn's
stopping rule: stop once the epoch's training loss has failed to improve on the best
by ``tol = 1e-4`` for more than 10 epochs, or at ``max_iter``. Random streams differ
from scikit-learn's, so results agree within seed-to-seed noise, not to the bit
(tests/test_evaluate.py and tests/test_tagging.py check this).
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 1e-4
TOL = 1e-4
N_ITER_NO_CHANGE = 10


def _device(name: str = "auto"):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def fit_predict(
    task: str, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
    hidden: tuple[int, ...], max_iter: int, learning_rate: float, seed: int, device: str = "auto",
) -> np.ndarray:
    """Standardise on the training rows, fit the MLP, and predict ``X_test`` (classes,
    values, or for tagging each tag's probability)."""
    import torch

    dev = _device(device)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    xtr = torch.as_tensor(((X_train - mean) / std).astype(np.float32), device=dev)
    xte = torch.as_tensor(((X_test - mean) / std).astype(np.float32), device=dev)
    if task == "classification":
        classes, y_idx = np.unique(y_train, return_inverse=True)
        ytr = torch.as_tensor(y_idx, dtype=torch.long, device=dev)
        n_out = len(classes)
    elif task in ("regression", "tagging"):
        ytr = torch.as_tensor(np.asarray(y_train, dtype=np.float32).reshape(len(y_train), -1), device=dev)
        n_out = ytr.shape[1]
    else:
        raise ValueError(f"no MLP for task '{task}'")

    sizes = [xtr.shape[1], *hidden, n_out]
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = (torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound
        b = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
        weights.append(w.to(dev).requires_grad_())
        biases.append(b.to(dev).requires_grad_())
    opt = torch.optim.Adam(weights + biases, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)

    def forward(x):
        for w, b in zip(weights[:-1], biases[:-1]):
            x = torch.relu(x @ w + b)
        return x @ weights[-1] + biases[-1]

    n = xtr.shape[0]
    batch = min(200, n)
    best, stale = math.inf, 0
    for _ in range(max_iter):
        order = torch.randperm(n, generator=gen).to(dev)
        total = torch.zeros((), device=dev)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            out = forward(xtr[idx])
            if task == "classification":
                loss = torch.nn.functional.cross_entropy(out, ytr[idx])
            elif task == "tagging":
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    out, ytr[idx], reduction="sum") / len(idx)
            else:
                loss = 0.5 * torch.mean((out - ytr[idx]) ** 2)
            loss = loss + 0.5 * ALPHA * sum((w * w).sum() for w in weights) / len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total = total + loss.detach() * len(idx)
        epoch_loss = float(total) / n
        stale = stale + 1 if epoch_loss > best - TOL else 0
        best = min(best, epoch_loss)
        if stale > N_ITER_NO_CHANGE:
            break
    with torch.no_grad():
        out = forward(xte)
    if task == "classification":
        return classes[out.argmax(dim=1).cpu().numpy()]
    if task == "tagging":
        return torch.sigmoid(out).cpu().numpy().astype(np.float64)
    pred = out.cpu().numpy().astype(np.float64)
    return pred[:, 0] if pred.shape[1] == 1 else pred
