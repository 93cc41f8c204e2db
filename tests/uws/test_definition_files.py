"""Job kinds as definition files: read at start and on change, refused with a sentence naming the file and
the line, edited by operators only (``/uws/definitions``), on the session's real application."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from portal.auth import TokenStore, token_path
from portal.jobs.binning import RECO_PER_DECADE, RECO_PER_DECADE_RANGE
from portal.jobs.choices import STACK_LOW_COUNTS, STACK_MANY_RUNS
from portal.uws.definition_files import DefinitionProblem, parse_definition
from portal.uws.definition_registry import DefinitionRegistry

GREET = """\
name = "greet"
description = "Says hello: writes its parameters back (a kind added from a file)."
run = "tests.uws.jobs:echo"
execution_duration = 60

[[parameters]]
name = "text"
type = "string"
label = "Greeting"
help = "What to say."

[[parameters]]
name = "number"
type = "float"
label = "How loud"
unit = "m"
minimum = 0.0
maximum = 10.0
default = 2.5
help = "A bounded number."

[[parameters]]
name = "flag"
type = "bool"
default = false
help = "A boolean."

[[parameters]]
name = "ids"
type = "int-list"
default = [1, 2]
help = "Some integers."

[[results]]
id = "echo"
mime_type = "application/json"
help = "The parameters as the job received them."
"""

BROKEN = """\
name = "broken"
description = "A kind whose file has a mistake."
run = "tests.uws.jobs:echo"

[[parameters]]
name = "text"
type = "strng"
help = "What to say."
"""


def _problem(text: str, fmt: str = "toml", name: str | None = None) -> DefinitionProblem:
    with pytest.raises(DefinitionProblem) as caught:
        parse_definition(text, f"x.{fmt}", fmt, name=name)
    return caught.value


# -- the files themselves ------------------------------------------------------------------------------------
def test_a_good_file_gives_its_definition():
    d = parse_definition(GREET, "greet.toml", name="greet")
    assert d.name == "greet" and d.run == "tests.uws.jobs:echo" and d.execution_duration == 60
    assert [p.name for p in d.parameters] == ["text", "number", "flag", "ids"]
    assert d.parameter("text").required and d.parameter("number").default == 2.5
    assert d.parameter("number").unit == "m" and d.parameter("number").label == "How loud"
    assert d.parameter("ids").default == (1, 2) and [r.id for r in d.results] == ["echo"]


@pytest.mark.parametrize("text, line, words", [
    (BROKEN.replace('"broken"', '"greet"'), 7, "'strng' is not one of int, float"),
    (GREET.replace("maximum = 10.0", "maximum = -1.0"), 18, "maximum -1.0 is below the minimum 0.0"),
    (GREET.replace('unit = "m"', 'units = "m"'), 16, "unknown key 'units'"),
    (GREET.replace('run = "tests.uws.jobs:echo"', 'run = "no_such_package.jobs:run"'), 3,
     "module 'no_such_package.jobs' of 'run' is not installed"),
    (GREET.replace('default = 2.5', 'default = 20.0'), 19, "outside its bounds"),
    (GREET.replace('name = "flag"', 'name = "phase"'), 23, "cannot name a parameter"),
    (GREET.replace('name = "greet"', 'name = "hello"'), 1, "file name says 'greet'"),
    (GREET.replace('description = "Says', 'description = Says'), 2, "not valid TOML"),
])
def test_a_broken_file_is_refused_naming_the_file_and_the_line(text, line, words):
    problem = _problem(text, name="greet")
    assert problem.line == line, str(problem)
    assert words in str(problem) and str(problem).startswith("Job definition file x.toml, line ")


def test_yaml_files_are_read_and_refused_by_line_too():
    yaml_text = ("description: Says hello\nrun: tests.uws.jobs:echo\nparameters:\n  - name: text\n"
                 "    type: string\n    help: What to say.\n  - name: n\n    type: int\n    minimum: x\n"
                 "    help: A count.\nresults: []\n")
    with pytest.raises(DefinitionProblem) as caught:
        parse_definition(yaml_text, "hi.yaml", "yaml", name="hi")
    assert caught.value.line == 9 and "'minimum' must be a number" in str(caught.value)
    fixed = parse_definition(yaml_text.replace("minimum: x", "minimum: 0"), "hi.yaml", "yaml", name="hi")
    assert fixed.parameter("n").minimum == 0 and fixed.name == "hi"
    assert _problem("description: ok\nrun: x\n  bad: 1\n", "yaml").line == 3


def test_the_builtin_files_say_what_the_code_does():
    """The help texts of the built-in files quote the analyses' own constants: they must not drift."""
    from portal.jobs import DEFINITIONS, SPECTRUM

    assert [d.name for d in DEFINITIONS] == ["spectrum", "lightcurve", "skymap", "joint_spectrum"]
    reco = SPECTRUM.parameter("reco_bins_per_decade")
    assert reco.default == RECO_PER_DECADE and (reco.minimum, reco.maximum) == RECO_PER_DECADE_RANGE
    assert f"{RECO_PER_DECADE} (the default" in reco.doc
    stack = SPECTRUM.parameter("stack").doc
    assert f"more than {STACK_MANY_RUNS} runs" in stack and f"fewer than {STACK_LOW_COUNTS:g} on counts" in stack
    assert all(d.validate is not None for d in DEFINITIONS)


def test_a_folder_file_replaces_a_builtin_one_and_a_broken_one_leaves_it(tmp_path):
    builtin, folder = tmp_path / "builtin", tmp_path / "folder"
    builtin.mkdir(), folder.mkdir()
    (builtin / "greet.toml").write_text(GREET)
    seen = []
    registry = DefinitionRegistry((), builtin, folder, on_change=seen.append)
    registry.refresh()
    assert registry.definitions["greet"].parameter("number").default == 2.5 and len(seen) == 1
    assert registry.refresh() is False  # nothing changed, nothing read
    registry.save("greet", GREET.replace("default = 2.5", "default = 3.5"))
    assert registry.definitions["greet"].parameter("number").default == 3.5
    assert [p.name for p in folder.iterdir()] == ["greet.toml"]  # no temporary file left
    (folder / "greet.toml").write_text(GREET.replace("default = 2.5", "default = x"))
    registry.refresh()
    assert registry.definitions["greet"].parameter("number").default == 2.5  # the built-in one serves again
    assert [p.line for p in registry.problems] == [19]
    assert registry.delete("greet") and not registry.problems and not registry.delete("greet")


# -- on the running service ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def operator(uws):
    return {"Authorization": "Bearer " + TokenStore(token_path(uws.data_dir)).create("olga", operator=True)}


@pytest.fixture
def folder(uws):
    path = Path(uws.data_dir) / "job-definitions"
    path.mkdir(exist_ok=True)
    yield path
    for name in ("greet.toml", "greet.yaml", "broken.toml"):
        (path / name).unlink(missing_ok=True)
    _until(lambda: not {"greet", "broken"} & set(_kinds(uws)), "the test kinds to go")


def _kinds(uws, user: str = "alice") -> dict[str, dict]:
    response = uws.client.get("/uws", params={"format": "json"}, headers=uws.headers(user))
    assert response.status_code == 200, response.text
    return {d["name"]: d for d in response.json()["definitions"]}


def _until(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_file_added_while_the_server_runs_is_offered_and_runs(uws, folder):
    (folder / "greet.toml").write_text(GREET)
    _until(lambda: "greet" in _kinds(uws), "greet at /uws")
    greet = _kinds(uws)["greet"]
    assert greet["parameters"][1] == {
        "name": "number", "type": "float", "unit": "m", "required": False, "default": 2.5, "minimum": 0.0,
        "maximum": 10.0, "choices": None, "doc": "A bounded number.", "ucd": None, "column": None,
        "label": "How loud", "choice_labels": None}
    assert greet["parameters"][-1]["name"] == "publish"  # every kind accepts it, files' kinds too
    url = uws.create("alice", "greet", run=True, text="hello", flag="yes")
    job = uws.wait(url)
    assert job.phase == "COMPLETED", uws.client.get(url + "/error", headers=uws.headers("alice")).text
    echoed = uws.client.get(url + "/results/echo", headers=uws.headers("alice")).json()
    assert echoed["text"] == "hello" and echoed["number"] == 2.5 and echoed["flag"] is True


def test_a_broken_file_gives_its_sentence_and_the_others_keep_working(uws, folder, operator, caplog):
    caplog.set_level(logging.ERROR, logger="portal.uws")
    (folder / "greet.toml").write_text(GREET)
    (folder / "broken.toml").write_text(BROKEN)

    def listed() -> dict:
        return uws.client.get("/uws/definitions", headers=operator).json()

    _until(lambda: any(p["file"].endswith("broken.toml") for p in listed()["problems"]), "the problem")
    [problem] = listed()["problems"]
    assert problem["line"] == 7 and f"{folder / 'broken.toml'}, line 7" in problem["message"]
    assert "'strng' is not one of" in problem["message"]
    assert any("broken.toml, line 7" in r.getMessage() for r in caplog.records)  # the operators' log
    kinds = _kinds(uws)
    assert "broken" not in kinds and {"count", "echo", "greet"} <= set(kinds)
    assert uws.wait(uws.create("alice", "echo", run=True, text="still")).phase == "COMPLETED"


def test_only_operators_use_the_editor(uws, folder, operator):
    (folder / "greet.toml").write_text(GREET)
    _until(lambda: "greet" in _kinds(uws), "greet at /uws")
    alice = uws.headers("alice")
    for method, path in [("GET", "/uws/definitions"), ("GET", "/uws/definitions/greet"),
                         ("PUT", "/uws/definitions/greet"), ("DELETE", "/uws/definitions/greet"),
                         ("POST", "/uws/definitions/validate?name=greet")]:
        response = uws.client.request(method, path, headers=alice, content=GREET)
        assert response.status_code == 403, (method, path, response.text)
        assert "portal token create NAME --operator" in response.text
        assert uws.client.request(method, path, content=GREET).status_code == 401
    assert (folder / "greet.toml").read_text() == GREET  # alice changed nothing
    assert uws.client.get("/uws/definitions/greet", headers=operator).text == GREET


def test_operators_validate_save_and_delete(uws, folder, operator):
    check = uws.client.post("/uws/definitions/validate", params={"name": "greet"}, content=BROKEN, headers=operator)
    assert check.json() == {"valid": False, "line": 1, "message": check.json()["message"]}
    assert "the file names the kind 'broken'" in check.json()["message"]
    bad = uws.client.put("/uws/definitions/greet", content=GREET.replace('"float"', '"flot"'), headers=operator)
    assert bad.status_code == 400 and "greet.toml, line 14" in bad.text and not (folder / "greet.toml").exists()
    for name in ("..evil", "a.b", "definitions", "x" * 65):
        assert uws.client.put(f"/uws/definitions/{name}", content=GREET, headers=operator).status_code in (400, 404)
    python = uws.client.put("/uws/definitions/count", content=GREET.replace('"greet"', '"count"'), headers=operator)
    assert python.status_code == 400 and "defined in Python" in python.text
    saved = uws.client.put("/uws/definitions/greet", content=GREET, headers=operator)
    assert saved.status_code == 200, saved.text
    assert "greet" in _kinds(uws)  # at once: no wait for the next look at the folder
    assert sorted(p.name for p in folder.iterdir()) == ["greet.toml"]
    listing = uws.client.get("/uws/definitions", headers=operator).json()
    rows = {r["name"]: r for r in listing["definitions"]}
    assert rows["greet"]["origin"] == "folder" and rows["greet"]["editable"]
    assert rows["count"]["origin"] == "python" and not rows["count"]["editable"]
    assert uws.client.delete("/uws/definitions/count", headers=operator).status_code == 409
    assert uws.client.delete("/uws/definitions/greet", headers=operator).status_code == 200
    assert "greet" not in _kinds(uws) and not (folder / "greet.toml").exists()
    assert uws.client.delete("/uws/definitions/greet", headers=operator).status_code == 404


def test_yaml_saved_through_the_editor(uws, folder, operator):
    text = json.dumps({"description": "Says hello", "run": "tests.uws.jobs:echo",
                       "parameters": [{"name": "text", "type": "string", "help": "What to say."}],
                       "results": [{"id": "echo", "mime_type": "application/json", "help": "The parameters."}]})
    saved = uws.client.put("/uws/definitions/greet", params={"format": "yaml"}, content=text, headers=operator)
    assert saved.status_code == 200, saved.text  # JSON is YAML
    assert (folder / "greet.yaml").is_file() and _kinds(uws)["greet"]["description"] == "Says hello"
    assert uws.client.get("/uws/definitions/greet", headers=operator).headers["x-definition-format"] == "yaml"
    assert uws.client.delete("/uws/definitions/greet", headers=operator).status_code == 200
