"""What a service pinning us installs: the wheel, with core dependencies only."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.tooling  # run on one Python by `make test` (noxfile.py)

UV = str(Path(sys.executable).parent / "uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([UV, "build", "--wheel", "--quiet", "--out-dir", str(out), str(ROOT)], check=True)
    (built,) = out.glob("shortpen_api_client-*.whl")
    return built


def test_wheel_contains_generated_layer_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "shortpen_api_client/py.typed" in names
    assert "shortpen_api_client/_generated/client.py" in names
    assert "shortpen_api_client/_generated/api/analytics/get_analytics.py" in names
    assert "shortpen_api_client/_spec.py" in names
    assert not any("__pycache__" in n for n in names)
    licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert licenses, "the MIT licence the metadata names must ship in the wheel"
    assert "MIT License" in zipfile.ZipFile(wheel).read(licenses[0]).decode()


def test_wheel_metadata_declares_light_core_and_extras(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (meta_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = zf.read(meta_name).decode()
    requires = [
        line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")
    ]
    core = sorted(r for r in requires if "extra ==" not in r)
    assert core == ["attrs>=22.2", "filelock>=4.3", "httpx<1,>=0.24"]  # filelock: the sync's folder lock
    assert "Requires-Python: >=3.11" in meta
    assert "Provides-Extra: parquet" in meta


def test_wheel_installs_and_imports_with_core_dependencies_only(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([UV, "pip", "install", "--quiet", "--python", str(python), str(wheel)], check=True)
    script = (
        "import shortpen_api_client as s, importlib.metadata as m;"
        "from shortpen_api_client.generated import AuthenticatedClient, get_analytics;"
        "print(s.__version__, s.SPEC_VERSION, sorted(d.metadata['Name'] for d in m.distributions()))"
    )
    out = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True).stdout
    version, spec_version, dists = out.split(" ", 2)
    assert version == __import__("shortpen_api_client").__version__
    assert spec_version == __import__("shortpen_api_client").SPEC_VERSION  # the wheel records the spec
    assert "pyarrow" not in dists  # the parquet extra is not pulled in by the core install
