"""Fixtures shared by the interop tests: the repository root, a scratch dir."""
import pathlib
import shutil
import tempfile

import pytest

import sbtest


@pytest.fixture(scope="session")
def repo_root():
    """The top of the source tree (tests/interop/../..)."""
    return pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def tmp_dir():
    """A fresh, empty directory removed after the test."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="sbtest-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    sbtest.smoke_select(config, items)
