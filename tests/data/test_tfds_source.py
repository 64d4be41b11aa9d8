"""tensorflow-datasets sources fail clearly offline, naming the image-folder path.

tensorflow-datasets is not a test dependency and nothing can be downloaded
here: a fake module stands in for it.
"""

import sys
import types

import pytest

from keras_lt.data import DatasetUnavailableError, load_long_tailed, load_tfds
from keras_lt.data import tfds_source


def fake_tfds(download_error=None, prepared_dir=None):
    module = types.ModuleType("tensorflow_datasets")
    calls = []

    class Builder:
        def __init__(self, name, data_dir=None):
            self.data_dir = prepared_dir or "/nonexistent/tfds/" + name

        def download_and_prepare(self):
            calls.append("download")
            raise download_error

    module.builder = Builder
    module.calls = calls
    return module


def assert_names_image_folder(message):
    assert "image folder" in message
    assert "--data-dir" in message
    assert "load_image_folder" in message


def test_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(DatasetUnavailableError, match="not installed") as info:
        load_tfds("cifar10")
    assert_names_image_folder(str(info.value))


def test_offline_download_fails_with_a_clear_message(monkeypatch):
    module = fake_tfds(ConnectionError("Failed to resolve 'www.cs.toronto.edu'"))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)
    monkeypatch.setattr(tfds_source, "_probe", lambda host: None)  # probe passes
    with pytest.raises(DatasetUnavailableError, match="could not provide 'cifar10'") as info:
        load_tfds("cifar10", "train")
    assert "ConnectionError" in str(info.value)
    assert_names_image_folder(str(info.value))
    assert module.calls == ["download"]


def test_unreachable_host_fails_fast_without_downloading(monkeypatch):
    module = fake_tfds(AssertionError("must not be called"))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)

    def no_network(address, timeout):
        raise OSError("Name or service not known")

    monkeypatch.setattr(tfds_source.socket, "create_connection", no_network)
    with pytest.raises(DatasetUnavailableError, match="cannot reach www.cs.toronto.edu") as info:
        load_long_tailed("cifar100")  # no data_dir: goes to tfds
    assert_names_image_folder(str(info.value))
    assert module.calls == []


def test_no_download_and_empty_data_dir(monkeypatch, tmp_path):
    module = fake_tfds(AssertionError("must not be called"), prepared_dir=str(tmp_path))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)
    with pytest.raises(DatasetUnavailableError, match="download=False") as info:
        load_tfds("cifar10", data_dir=str(tmp_path), download=False)
    assert_names_image_folder(str(info.value))
