"""Golden JSON in/out for every example at every startup stage.

Stage 0 observes nothing; each next stage observes the previous response with every
workload ready, until the response no longer changes (all ready). Regenerate after an
intended change with `UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py` and review the diff.
"""

import json
import os

import pytest

from hooks.app import create_app
from tests.support import EXAMPLES, ROOT, example_group, startup_stages, sync

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _text(obj) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def _cases():
    for example in EXAMPLES:
        for step, req in enumerate(startup_stages(example_group(example))):
            yield pytest.param(example.stem, step, req, id=f"{example.stem}-{step}")


@pytest.mark.parametrize("example,step,req", list(_cases()))
def test_golden(example, step, req):
    folder = GOLDEN / example
    req_file, resp_file = folder / f"{step}-request.json", folder / f"{step}-response.json"
    response = sync(req).response()
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        req_file.write_text(_text(req))
        resp_file.write_text(_text(response))
    assert _text(req) == req_file.read_text(), f"{req_file} is stale: UPDATE_GOLDEN=1"
    assert _text(response) == resp_file.read_text(), f"{resp_file} differs: review, then UPDATE_GOLDEN=1"


@pytest.mark.parametrize("req_file", sorted(GOLDEN.glob("*/*-request.json")), ids=lambda p: f"{p.parent.name}-{p.name}")
def test_golden_over_http(req_file):
    """The Flask app answers the golden request with exactly the golden response."""
    client = create_app().test_client()
    got = client.post("/sync", data=req_file.read_bytes(), content_type="application/json")
    assert got.status_code == 200
    want = json.loads(req_file.with_name(req_file.name.replace("request", "response")).read_text())
    assert got.get_json() == want
