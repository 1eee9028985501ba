"""docs/asyncapi.yaml is valid for the official AsyncAPI parser, the one client generators use.

It runs when npm can install @asyncapi/parser (Node.js is not a project dependency).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.processes import ROOT

DOCUMENT = ROOT / "docs" / "asyncapi.yaml"

# Severity 0 is an error; warnings and hints (1 to 3) are style advice.
PARSER_CHECK = """
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");
(async () => {
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(process.argv[2], "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join(".")}: ${d.message}`);
  console.log(JSON.stringify({ parsed: document !== undefined, errors }));
})();
"""


@pytest.fixture(scope="module")
def parser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where Node.js finds @asyncapi/parser, installed for this run only."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("Node.js and npm are not installed: the AsyncAPI parser cannot run")
    directory = tmp_path_factory.mktemp("asyncapi-parser")
    install = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--silent", "@asyncapi/parser@3"]
    try:
        subprocess.run(install, cwd=directory, check=True, capture_output=True, timeout=240)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"npm could not install @asyncapi/parser (offline?): {error}")
    (directory / "check.js").write_text(PARSER_CHECK)
    return directory


def parse(parser: Path, document: Path) -> dict:
    run = subprocess.run(["node", "check.js", str(document)], cwd=parser, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


# npm's install is network-bound: room beyond the suite's 120 s guard against hangs.
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_official_parser_accepts_the_document(parser: Path):
    assert parse(parser, DOCUMENT) == {"parsed": True, "errors": []}


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_parser_check_refuses_a_broken_document(parser: Path, tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(DOCUMENT.read_text().replace("info:", "unexpected_field: 1\ninfo:", 1))
    outcome = parse(parser, broken)
    assert outcome["parsed"] is False and outcome["errors"]
