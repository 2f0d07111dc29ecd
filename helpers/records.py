"""What a run reports: why it stopped, each coarse-to-fine stage, and the Result ``stylize`` returns."""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import torch


#: The bookkeeping keys of a history record (one dict per step); every other key is a weighted
#: loss term, named by the engine ("content", "style", "tv"), and "total" is their sum (eq. 7).
RECORD_KEYS = ("step", "seconds", "stage")


def loss_terms(record: dict) -> dict[str, float]:
    """The weighted loss terms of a history record by name, in the engine's order, without "total"."""
    return {k: v for k, v in record.items() if k not in RECORD_KEYS and k != "total"}


class StopReason(str, enum.Enum):
    """Why a run ended. Compares equal to its string value ("finished", ...)."""

    FINISHED = "finished"
    CALLBACK = "callback"
    INTERRUPTED = "interrupted"
    NON_FINITE = "non-finite loss"
    CALLBACK_ERROR = "callback error"

    def __str__(self) -> str:
        return self.value


@dataclass
class Stage:
    """One coarse-to-fine stage: its size, how many steps ran, where its best image came from."""

    size: tuple[int, int]
    steps: int
    best_step: int
    best_loss: float
    seconds: float


@dataclass
class Result:
    """What a run returns. image: (1,3,H,W) in [0,1] on the CPU, the lowest-loss image seen in the
    last stage that ran; ``loss`` is that image's total loss under that stage's objective."""

    image: torch.Tensor
    history: list[dict] = field(default_factory=list)  # per step: step, seconds, stage, each term, total
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, image)
    seconds: float = 0.0
    stopped_reason: StopReason = StopReason.FINISHED
    best_step: int = 0
    stages: list[Stage] = field(default_factory=list)
    loss: float = math.nan
    error: BaseException | None = None  # what a failing callback raised (stopped_reason says so)

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """(H, W) of each stage that ran."""
        return [s.size for s in self.stages]
