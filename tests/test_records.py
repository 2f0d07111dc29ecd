"""Tests for helpers/records.py: what a run reports."""
import torch

from helpers import records


def test_loss_terms_are_the_records_terms_in_order_without_bookkeeping_or_total():
    rec = {"step": 3, "seconds": 0.5, "stage": 1, "content": 1.0, "style": 2.0, "tv": 0.0,
           "edge": 4.0, "total": 7.0}
    assert list(records.loss_terms(rec).items()) == [("content", 1.0), ("style", 2.0), ("tv", 0.0),
                                                      ("edge", 4.0)]
    assert records.loss_terms({}) == {}


def test_stop_reasons_compare_as_their_words_and_sizes_come_from_the_stages():
    assert records.StopReason.CALLBACK_ERROR == "callback error" and str(records.StopReason.FINISHED) == "finished"
    r = records.Result(image=torch.zeros(1, 3, 2, 2),
                       stages=[records.Stage((32, 48), 5, 4, 0.1, 1.0), records.Stage((64, 96), 2, 6, 0.05, 2.0)])
    assert r.sizes == [(32, 48), (64, 96)]
