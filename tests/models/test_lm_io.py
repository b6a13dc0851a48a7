"""Character LMs as safetensors + JSON: exact round trips, float16 storage, errors, the export-lm command."""
import pickle

import pytest
import torch
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.models.build import build_language_model, character_dictionary
from spacy_clinical_flair.models.lm_io import (
    LMFileError,
    dictionary_from_json,
    dictionary_to_json,
    lm_from_bytes,
    lm_to_bytes,
    load_language_model,
    read_metadata,
    save_language_model,
)

TEXT = "Varón de 56 años con disnea y ñandú: µg/kg ≥ 2."


@pytest.fixture()
def lm():
    torch.manual_seed(3)
    model = build_language_model(character_dictionary([TEXT]), False, hidden_size=10, embedding_size=4)
    model.eval()
    return model


def states(model, text=TEXT):
    return model.get_representation([text], "\n", " ")


def test_round_trip_is_exact(lm):
    again = lm_from_bytes(lm_to_bytes(lm))
    assert again.dictionary.get_items() == lm.dictionary.get_items()
    assert again.dictionary.add_unk and not again.is_forward_lm
    assert set(again.state_dict()) == set(lm.state_dict())
    assert all(torch.equal(again.state_dict()[k], v) for k, v in lm.state_dict().items())
    assert torch.equal(states(again), states(lm))


def test_dictionary_json_keeps_indices_and_flags():
    dictionary = character_dictionary(["abcñ"])
    dictionary.span_labels = True
    again = dictionary_from_json(dictionary_to_json(dictionary))
    assert again.get_items() == dictionary.get_items()
    assert again.get_idx_for_item("ñ") == dictionary.get_idx_for_item("ñ")
    assert again.get_idx_for_item("☃") == 0 and again.span_labels


def test_half_storage_is_close_and_smaller(lm):
    full, half = lm_to_bytes(lm), lm_to_bytes(lm, half=True)
    assert len(half) < 0.7 * len(full)
    assert torch.allclose(states(lm_from_bytes(half)), states(lm), atol=1e-2)


def test_no_decoder_drops_the_output_layer(lm):
    without = lm_from_bytes(lm_to_bytes(lm), has_decoder=False)
    assert without.decoder is None
    assert torch.equal(states(without), states(lm))


def test_loading_a_safetensors_file_unpickles_nothing(tmp_path, lm, monkeypatch):
    path = save_language_model(lm, tmp_path / "lm.safetensors")

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert torch.equal(states(load_language_model(path)), states(lm))


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(LMFileError, match="too short"):
        read_metadata(b"abc")
    from safetensors.torch import save

    other = save({"x": torch.zeros(2)}, metadata={"format": "pt"})
    with pytest.raises(LMFileError, match="not a clinical-flair language model"):
        lm_from_bytes(other)
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        load_language_model(tmp_path / "nothing.safetensors")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(LMFileError, match="not a Flair language model"):
        load_language_model(tmp_path / "junk.pt")


def test_export_lm_command_converts_a_flair_file(tmp_path, lm):
    lm.save(tmp_path / "best-lm.pt")  # Flair's own (pickle) format
    out = tmp_path / "lm.safetensors"
    result = CliRunner().invoke(app, ["export-lm", str(tmp_path / "best-lm.pt"), str(out)])
    assert result.exit_code == 0, result.output
    assert "backward LM, hidden 10" in result.output
    assert torch.equal(states(load_language_model(out)), states(lm))
    bad = CliRunner().invoke(app, ["export-lm", str(tmp_path / "best-lm.pt"), str(tmp_path / "lm.pt")])
    assert bad.exit_code == 1 and "should end in .safetensors" in bad.output
