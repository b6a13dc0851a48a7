"""benchmarks/vector_precision.py's per-token cosine: rows that are zero in both precisions are left out."""
import sys
from pathlib import Path

import numpy
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from vector_precision import token_cosines  # noqa: E402


def test_rows_zero_in_both_precisions_are_left_out_not_scored_zero():
    fp32 = [numpy.array([[1.0, 0.0], [0.0, 0.0]]), numpy.zeros((0, 2)), numpy.array([[3.0, 4.0]])]
    bf16 = [numpy.array([[1.0, 1.0], [0.0, 0.0]]), numpy.zeros((0, 2)), numpy.array([[3.0, 4.0]])]
    cosines, zero_rows = token_cosines(fp32, bf16)
    # by hand: (1,0)·(1,1) / (1 · √2) = 1/√2; (3,4) with itself = 1; the (0,0) row in both is left out
    assert zero_rows == 1
    assert cosines == pytest.approx([1 / numpy.sqrt(2), 1.0])


def test_a_row_zero_in_one_precision_only_is_kept_and_scores_zero():
    cosines, zero_rows = token_cosines([numpy.array([[2.0, 0.0]])], [numpy.array([[0.0, 0.0]])])
    assert zero_rows == 0
    assert cosines.tolist() == [0.0]
