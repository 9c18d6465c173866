"""The Dockerfile's contract with tools/images.sh and with `docker build .`.

Without build arguments, the Dockerfile builds on the upstream images; tools/images.sh passes
its own bases under the same two argument names. Either way the image holds hooks/ and its
dependencies only, and runs `python3 -m hooks.server` as 65532.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages() -> tuple[dict[str, str], list[list[tuple[str, str]]]]:
    """The ARGs declared before the first FROM (name: default), and each stage's instructions."""
    args: dict[str, str] = {}
    stages: list[list[tuple[str, str]]] = []
    for word, rest in _instructions():
        if word == "FROM":
            stages.append([(word, rest)])
        elif stages:
            stages[-1].append((word, rest))
        else:
            assert word == "ARG", f"{word} before the first FROM"
            name, _, default = rest.partition("=")
            args[name] = default
    return args, stages


def test_bases_are_build_arguments_defaulting_to_the_upstream_images():
    args, stages = _stages()
    assert args == {
        "BUILD_BASE": "python:3.11-slim-bookworm",
        "RUNTIME_BASE": "gcr.io/distroless/python3-debian12:nonroot",
    }
    assert [stage[0][1] for stage in stages] == ["${BUILD_BASE} AS build", "${RUNTIME_BASE}"]


def test_images_sh_passes_both_arguments():
    script = (ROOT / "tools" / "images.sh").read_text()
    passed = set(re.findall(r'--build-arg "([A-Z_]+)=', script))
    assert passed == set(_stages()[0])


def test_the_image_holds_hooks_and_its_dependencies_only():
    _, (build, runtime) = _stages()
    copies = [rest for word, rest in build if word == "COPY"]
    assert copies == ["pyproject.toml ./", "hooks /app/hooks"]
    # pip installs the project's runtime dependencies (not the package, not its extras) into /app.
    run = " ".join(rest for word, rest in build if word == "RUN")
    assert "['project']['dependencies']" in run and "--target /app" in run
    assert [rest for word, rest in runtime if word == "COPY"] == ["--from=build /app /app"]
    # The build context is pyproject.toml and hooks/ only, without bytecode.
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[:3] == ["*", "!pyproject.toml", "!hooks/"]
    assert "hooks/**/__pycache__" in ignore


def test_runs_the_hook_server_as_nonroot():
    _, (_, runtime) = _stages()
    final = dict(runtime[1:])
    assert final["USER"] == "65532:65532"
    assert shlex.split(final["ENV"]) == ["PYTHONPATH=/app", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"]
    assert final["ENTRYPOINT"] == '["python3", "-m", "hooks.server"]'
    assert final["CMD"] == '["--bind", "0.0.0.0:8080", "--workers", "4"]'
