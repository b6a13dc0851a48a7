"""Flair's CRF loss, computed faster: the same value and gradient as ``flair``'s ``ViterbiLoss``.

Flair's ``ViterbiLoss`` runs the forward algorithm as a Python loop over time steps that writes each step
into a slice of one tensor in place (``scores[:n] = ...``) and spells log-sum-exp out in seven tensor
operations; autograd then replays every one of those steps backwards. On MEDDOCAN (45 BIO tags) that loss
was about 70 % of a training step on CPU (benchmarks/accuracy.md). :class:`FastViterbiLoss` computes the
same negative log-likelihood from the same inputs (Flair's CRF scores ``[batch, time, to, from]``, the
lengths and the transitions) with one ``torch.logsumexp`` per step and a mask instead of in-place slices.

It replaces the tagger's ``loss_function`` for training only (:func:`fast_crf_loss`): it holds no
parameters, so the tagger's saved state is unchanged, and Flair's class is put back afterwards.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Tuple

import torch
from flair.models.sequence_tagger_utils.viterbi import START_TAG, STOP_TAG


class FastViterbiLoss(torch.nn.Module):
    """The summed CRF negative log-likelihood of a batch, as Flair's ``ViterbiLoss`` defines it."""

    def __init__(self, tag_dictionary) -> None:
        super().__init__()
        self.start_tag = tag_dictionary.get_idx_for_item(START_TAG)
        self.stop_tag = tag_dictionary.get_idx_for_item(STOP_TAG)

    def forward(self, features_tuple: Tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                targets: torch.Tensor) -> torch.Tensor:
        """``features_tuple``: (CRF scores ``[batch, time, to, from]``, lengths, transitions ``[to, from]``);
        ``targets``: the gold tag of every token, sentence after sentence (no padding)."""
        features, lengths, transitions = features_tuple
        lengths = torch.as_tensor(lengths, device=features.device)
        gold = self.gold_score(features, lengths, transitions, targets)
        return self.log_partition(features, lengths, transitions).sum() - gold

    def gold_score(self, features: torch.Tensor, lengths: torch.Tensor, transitions: torch.Tensor,
                   targets: torch.Tensor) -> torch.Tensor:
        """Sum over the batch of the gold paths' scores (start transition, emissions, transitions, stop)."""
        batch, time, tags = features.shape[:3]
        positions = torch.arange(time, device=features.device)
        mask = positions.unsqueeze(0) < lengths.unsqueeze(1)  # [batch, time]
        padded = torch.full((batch, time), self.stop_tag, dtype=torch.long, device=features.device)
        padded[mask] = targets.to(features.device)
        previous = torch.cat([torch.full((batch, 1), self.start_tag, dtype=torch.long, device=features.device),
                              padded[:, :-1]], dim=1)
        index = (padded * tags + previous).unsqueeze(2)  # features.view(batch, time, to * tags + from)
        scores = torch.gather(features.reshape(batch, time, tags * tags), 2, index).squeeze(2)
        last = padded[torch.arange(batch, device=features.device), lengths - 1]
        return scores[mask].sum() + transitions[self.stop_tag, last].sum()

    def log_partition(self, features: torch.Tensor, lengths: torch.Tensor,
                      transitions: torch.Tensor) -> torch.Tensor:
        """Each sentence's log-sum over all tag paths (the forward algorithm), ``[batch]``."""
        alpha = features[:, 0, :, self.start_tag]  # [batch, to]
        for t in range(1, int(lengths.max())):
            step = torch.logsumexp(features[:, t] + alpha.unsqueeze(1), dim=2)
            alpha = torch.where((lengths > t).unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + transitions[self.stop_tag].unsqueeze(0), dim=1)


@contextlib.contextmanager
def fast_crf_loss(tagger) -> Iterator[None]:
    """While inside, ``tagger`` (a Flair ``SequenceTagger``) computes its CRF loss with
    :class:`FastViterbiLoss`; Flair's loss is put back on leaving. Taggers without a CRF are left alone."""
    if not getattr(tagger, "use_crf", False):
        yield
        return
    original = tagger.loss_function
    tagger.loss_function = FastViterbiLoss(tagger.label_dictionary)
    try:
        yield
    finally:
        tagger.loss_function = original
