"""Fit assistant.match.MatchModel: a linear map of the question vector, listwise over candidates.

Each training question contributes its candidate units (the ones the ranker sees) with their
stored vectors; the loss is the softmax cross-entropy of the gold units against the rest
(scores: a learned temperature times the cosine of the moved question with each unit), plus an
L2 pull toward the identity. Torch is used here only, at training time; the model is applied
with numpy.
"""
from __future__ import annotations

import numpy as np

from assistant.match import MatchModel

EPOCHS = 40
BATCH = 64          # questions per step
LEARNING_RATE = 1e-3
L2 = 1e-3           # on the map's weights: keeps the moved vector near MiniLM's own
GOLD_WEIGHT = 10.0  # a gold dev question weighs as much as this many PolicyQA questions (not tuned)


def fit_match(samples, seed: int, gold_weight: float = GOLD_WEIGHT, epochs: int = EPOCHS,
              learning_rate: float = LEARNING_RATE) -> MatchModel:
    """The map fit on ``samples`` (eval.train_ranker.Sample with vectors) that have a gold unit."""
    import torch

    train = [s for s in samples if s.answerable and s.labels.any() and s.vectors is not None]
    if not train:
        return MatchModel.identity()
    torch.manual_seed(seed)
    dim = train[0].vectors.shape[1]
    width = max(len(s.labels) for s in train)
    units = torch.zeros(len(train), width, dim)
    gold = torch.zeros(len(train), width, dtype=torch.bool)
    present = torch.zeros(len(train), width, dtype=torch.bool)
    for i, s in enumerate(train):
        k = len(s.labels)
        units[i, :k] = torch.from_numpy(np.asarray(s.vectors, dtype=np.float32))
        gold[i, :k] = torch.from_numpy(s.labels > 0)
        present[i, :k] = True
    questions = torch.from_numpy(np.stack([np.asarray(s.question.vector, dtype=np.float32) for s in train]))
    weights = torch.tensor([gold_weight if s.source == "gold" else 1.0 for s in train])
    w = torch.zeros(dim, dim, requires_grad=True)
    temperature = torch.tensor(20.0, requires_grad=True)
    opt = torch.optim.Adam([w, temperature], lr=learning_rate)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(train), generator=order).split(BATCH):
            moved = questions[idx] + questions[idx] @ w
            scores = temperature * torch.einsum("bcd,bd->bc", units[idx], moved)
            everything = torch.logsumexp(scores.masked_fill(~present[idx], -1e9), 1)
            answers = torch.logsumexp(scores.masked_fill(~gold[idx], -1e9), 1)
            loss = (weights[idx] * (everything - answers)).sum() / weights[idx].sum() + L2 * (w ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return MatchModel(w.detach().numpy().astype(np.float32))
