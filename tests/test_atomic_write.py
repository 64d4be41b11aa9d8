"""`atomic_write_text` replaces a file whole, with the text exactly as given."""

import os

import pytest

from keras_lt.atomic_write import atomic_write_text


def test_text_is_written_as_given_and_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "trials.csv"
    atomic_write_text(path, "a,b\r\n1,2\r\n")  # csv's line ends stay as they are
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"

    def killed(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new")
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    assert os.listdir(tmp_path) == ["trials.csv"]
