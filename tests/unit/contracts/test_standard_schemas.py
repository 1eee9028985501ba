"""The committed JSON Schemas are standard draft 2020-12, as strict validators read them.

Python's jsonschema checks each document against the 2020-12 metaschema, which
lets unknown keywords through; so every keyword is also checked against the
2020-12 vocabularies here. Ajv in strict mode, the validator most Node.js
clients use, refuses unknown keywords itself: it runs when npm can install it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contracts.schema import DEFAULT_DIRECTORY, DIALECT, schema_id

COMMITTED = {path.stem: json.loads(path.read_text()) for path in sorted(DEFAULT_DIRECTORY.glob("*.json"))}

# The keywords of the 2020-12 vocabularies (core, applicator, unevaluated,
# validation, meta-data, format-annotation, content), by what their value holds.
TAKES_A_SCHEMA = {
    "items", "contains", "additionalProperties", "propertyNames", "if", "then", "else", "not",
    "unevaluatedItems", "unevaluatedProperties", "contentSchema",
}  # fmt: skip
TAKES_SCHEMAS = {"allOf", "anyOf", "oneOf", "prefixItems"}
TAKES_NAMED_SCHEMAS = {"$defs", "properties", "patternProperties", "dependentSchemas"}
TAKES_A_VALUE = {
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment",
    "type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
    "maxProperties", "minProperties", "required", "dependentRequired",
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "format", "contentEncoding", "contentMediaType",
}  # fmt: skip
VOCABULARY = TAKES_A_SCHEMA | TAKES_SCHEMAS | TAKES_NAMED_SCHEMAS | TAKES_A_VALUE
# Formats 2020-12 defines (section 7.3 of its validation specification).
DEFINED_FORMATS = {
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
    "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer",
    "relative-json-pointer", "regex",
}  # fmt: skip


def keywords_outside_the_vocabulary(schema: Any, where: str = "#") -> list[str]:
    """Where `schema` uses a keyword 2020-12 does not define, or a format it does not name."""
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, dict):
        return [f"{where}: not a schema"]
    found = []
    for keyword, value in schema.items():
        at = f"{where}/{keyword}"
        if keyword not in VOCABULARY:
            found.append(f"{at}: unknown keyword")
        elif keyword == "format" and value not in DEFINED_FORMATS:
            found.append(f"{at}: unknown format {value!r}")
        elif keyword in TAKES_A_SCHEMA:
            found += keywords_outside_the_vocabulary(value, at)
        elif keyword in TAKES_SCHEMAS:
            for index, item in enumerate(value):
                found += keywords_outside_the_vocabulary(item, f"{at}/{index}")
        elif keyword in TAKES_NAMED_SCHEMAS:
            for name, item in value.items():
                found += keywords_outside_the_vocabulary(item, f"{at}/{name}")
    return found


def test_the_vocabulary_check_finds_openapi_keywords():
    openapi = {"oneOf": [{"type": "string"}], "discriminator": {"propertyName": "op"}, "nullable": True}
    assert keywords_outside_the_vocabulary({"properties": {"op": openapi}}) == [
        "#/properties/op/discriminator: unknown keyword",
        "#/properties/op/nullable: unknown keyword",
    ]
    assert keywords_outside_the_vocabulary({"format": "binary"}) == ["#/format: unknown format 'binary'"]


@pytest.mark.parametrize("message_type", sorted(COMMITTED))
def test_every_schema_names_its_dialect_and_identity(message_type):
    schema = COMMITTED[message_type]
    assert schema["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_id(message_type)


@pytest.mark.parametrize("message_type", sorted(COMMITTED))
def test_every_schema_is_valid_draft_2020_12(message_type):
    jsonschema.Draft202012Validator.check_schema(COMMITTED[message_type])


@pytest.mark.parametrize("message_type", sorted(COMMITTED))
def test_every_schema_uses_only_standard_keywords_and_formats(message_type):
    assert keywords_outside_the_vocabulary(COMMITTED[message_type]) == []


AJV_CHECK = """
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;
const fs = require("fs");
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const problems = [];
for (const file of process.argv.slice(2)) {
  try { ajv.compile(JSON.parse(fs.readFileSync(file, "utf8"))); }
  catch (error) { problems.push(`${file}: ${error.message}`); }
}
console.log(JSON.stringify(problems));
"""


@pytest.fixture(scope="module")
def ajv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where Node.js finds Ajv 8 and ajv-formats, installed for this run only."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("Node.js and npm are not installed: Ajv's strict check cannot run")
    directory = tmp_path_factory.mktemp("ajv")
    install = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--silent", "ajv@8", "ajv-formats@3"]
    try:
        subprocess.run(install, cwd=directory, check=True, capture_output=True, timeout=180)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"npm could not install Ajv (offline?): {error}")
    return directory


# npm's install is network-bound: room beyond the suite's 120 s guard against hangs.
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ajv_in_strict_mode_compiles_every_schema(ajv: Path):
    script = ajv / "check.js"
    script.write_text(AJV_CHECK)
    files = [str(DEFAULT_DIRECTORY / f"{message_type}.json") for message_type in sorted(COMMITTED)]
    run = subprocess.run(["node", str(script), *files], cwd=ajv, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
