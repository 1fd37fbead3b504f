"""A bundle has one name: its registered version, if any, and its content hash."""

from __future__ import annotations

import json

import pytest

from foldwise.bundle import MANIFEST, Bundle, bundle_name, bundle_sha256
from foldwise.errors import FoldwiseError
from foldwise.production.registry import registered_name
from foldwise.serve.log import model_file
from foldwise.serve.model import ServedModel
from tests.support.serve import train_bundle


def test_name_is_the_version_and_the_manifest_hash(tmp_path):
    bundle, _ = train_bundle("binary", tmp_path / "a")
    manifest = json.loads((tmp_path / "a" / MANIFEST).read_text())
    assert bundle.sha256 == manifest["manifest_sha256"] == bundle_sha256(tmp_path / "a")
    short = manifest["manifest_sha256"][:12]
    assert bundle.name() == bundle_name(bundle.sha256) == f"sha256:{short}"
    assert bundle.name("model@v1.2.0") == f"model@v1.2.0 (sha256:{short})"
    # Saving again elsewhere gives the same content, so the same name.
    bundle.save(tmp_path / "copy")
    assert Bundle.load(tmp_path / "copy").name() == bundle.name()
    # Any change of content (here the threshold) is another name.
    bundle.threshold = 0.6
    bundle.save(tmp_path / "b")
    assert Bundle.load(tmp_path / "b").name() != f"sha256:{short}"


def test_served_by_path_outside_a_registry_is_named_by_its_hash(tmp_path):
    bundle, _ = train_bundle("regression", tmp_path / "m")
    assert registered_name(bundle, tmp_path) == bundle.name()  # not a git repository
    assert registered_name(bundle, None, "model@v2.0.0") == bundle.name("model@v2.0.0")
    served = ServedModel.load(tmp_path / "m", registry_root=tmp_path)
    assert served.version == bundle.name()
    assert served.describe()["model_version"] == bundle.name()


def test_the_log_describes_each_name_in_a_safe_file_name(tmp_path):
    path = model_file(tmp_path, "model@v1.2.0 (sha256:abcdef123456)")
    assert path == tmp_path / "_models" / "model@v1.2.0_sha256_abcdef123456.json"
    assert model_file(tmp_path, "sha256:abcdef123456").name == "sha256_abcdef123456.json"


def test_a_folder_without_a_manifest_hash_is_refused(tmp_path):
    (tmp_path / MANIFEST).write_text("{}")
    with pytest.raises(FoldwiseError, match="not a foldwise bundle manifest"):
        bundle_sha256(tmp_path)
