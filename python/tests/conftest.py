"""Shared by the test files: the repository's C fixture library (Tests/Fixtures), built
once per session with debug info."""

import os
import subprocess
import tempfile

import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures")


@pytest.fixture(scope="session")
def fixture_library():
    """The path of libfixture.so built from callstub_fixture.c with -g."""
    directory = tempfile.mkdtemp(prefix="callstub-python-")
    path = os.path.join(directory, "libfixture.so")
    subprocess.run(["cc", "-g", "-O1", "-shared", "-fPIC", os.path.join(FIXTURES, "callstub_fixture.c"), "-o", path],
                   check=True)
    return path
