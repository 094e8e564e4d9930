"""Template files: YAML and TOML say the same thing; a bad file names its line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.sandbox.templates import TemplateSpecError, load_spec
from sandbox_analyst.sandbox.templates.spec import default_spec

YAML = """\
description: Text analysis
packages:
  - analyst-probe==1.0
  - regex>=2024; python_version >= '3.10'
files:
  - source: data/stopwords.txt
    target: lists/stopwords.txt
  - {source: notes.md}
setup: |
  print("unpacking")
env:
  CORPUS: "${TEMPLATE_DATA}/corpus"
preload: [analyst_probe, json.decoder]
limits: {timeout: 300, memory_mb: 4096, disk_mb: 2048}
"""

TOML = """\
description = "Text analysis"
packages = ["analyst-probe==1.0", "regex>=2024; python_version >= '3.10'"]
setup = '''
print("unpacking")
'''
preload = ["analyst_probe", "json.decoder"]

[env]
CORPUS = "${TEMPLATE_DATA}/corpus"

[limits]
timeout = 300
memory_mb = 4096
disk_mb = 2048

[[files]]
source = "data/stopwords.txt"
target = "lists/stopwords.txt"

[[files]]
source = "notes.md"
"""


def write_template(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "stopwords.txt").write_text("a\nthe\n")
    (tmp_path / "notes.md").write_text("# notes\n")
    return tmp_path


def test_yaml_and_toml_files_give_the_same_template(template_dir: Path) -> None:
    from_yaml = load_spec(write_template(template_dir, "nlp.yaml", YAML))
    from_toml = load_spec(write_template(template_dir, "nlp.toml", TOML))
    assert from_yaml.canonical() == from_toml.canonical()
    assert from_yaml.name == "nlp"
    assert from_yaml.packages == ["analyst-probe==1.0", "regex>=2024; python_version >= '3.10'"]
    assert [item.destination for item in from_yaml.files] == ["lists/stopwords.txt", "notes.md"]
    assert from_yaml.limits.memory_mb == 4096
    assert from_yaml.environment(Path("/builds/x/data")) == {"CORPUS": "/builds/x/data/corpus"}


def test_a_file_names_its_template_and_must_not_contradict_it(template_dir: Path) -> None:
    assert load_spec(write_template(template_dir, "sales-2024.yml", "description: x\n")).name == (
        "sales-2024"
    )
    path = write_template(template_dir, "sales.yaml", "description: x\nname: marketing\n")
    with pytest.raises(TemplateSpecError) as caught:
        load_spec(path)
    assert (caught.value.line, caught.value.field) == (2, "name")


def test_default_is_reserved_for_the_built_in_template(template_dir: Path) -> None:
    with pytest.raises(TemplateSpecError, match="built-in"):
        load_spec(write_template(template_dir, "default.yaml", "description: mine\n"))
    assert default_spec(["numpy"]).preload == ["numpy"]


@pytest.mark.parametrize(
    ("filename", "text", "line", "field", "message"),
    [
        (
            "a.yaml",
            "description: x\npackages:\n  - ok==1\n  - 'not a req ==='\n",
            4,
            "packages[1]",
            "not a valid requirement",
        ),
        (
            "b.yaml",
            "packages:\n  - probe @ https://example.com/p.whl\n",
            2,
            "packages[0]",
            "not URLs",
        ),
        ("c.yaml", "packages: [pandas, Pandas>=2]\n", 1, "packages", "listed twice"),
        (
            "d.yaml",
            "description: x\nlimits:\n  timeout: 10\n  memory_mb: 100\n",
            4,
            "limits.memory_mb",
            "greater than or equal to 512",
        ),
        (
            "e.yaml",
            "description: x\n\npreload: [numpy, 'not-a-module']\n",
            3,
            "preload[1]",
            "not a module name",
        ),
        ("f.yaml", "description: x\nsetup_code: print(1)\n", 2, "setup_code", "Extra inputs"),
        ("g.yaml", "env:\n  LANG: C\n  PATH: /evil\n", 3, "env.PATH", "set by the sandbox engine"),
        (
            "h.yaml",
            "env:\n  LD_PRELOAD: /evil.so\n",
            2,
            "env.LD_PRELOAD",
            "set by the sandbox engine",
        ),
        ("i.yaml", "files:\n  - source: ../../etc/passwd\n", 2, "files[0].source", "without '..'"),
        (
            "j.yaml",
            "files:\n  - source: ok.txt\n    target: /etc/motd\n",
            3,
            "files[0].target",
            "relative path",
        ),
        ("k.yaml", "files:\n  - source: missing.csv\n", 2, "files[0].source", "does not exist"),
        ("l.yaml", "description: x\ndescription: y\n", 2, "description", "given twice"),
        ("m.yaml", "description: [unclosed\npreload: []\n", 2, None, "not valid YAML"),
        ("n.yaml", "- just\n- a list\n", 1, None, "mapping of fields"),
        (
            "o.toml",
            'description = "x"\n[limits]\ntimeout = -1\n',
            3,
            "limits.timeout",
            "greater than 0",
        ),
        (
            "p.toml",
            'description = "x"\npackages = [\n  "ok==1",\n  "not a req",\n]\n',
            2,
            "packages[1]",
            "not a valid requirement",
        ),
        (
            "q.toml",
            'description = "x"\n[[files]]\nsource = "ok.txt"\n[[files]]\nsource = "/abs"\n',
            5,
            "files[1].source",
            "relative path",
        ),
        ("r.toml", 'description = "x"\nsetup = \n', 2, None, "not valid TOML"),
        ("s.toml", 'description = "x"\nunknown = 1\n', 2, "unknown", "Extra inputs"),
    ],
)
def test_a_bad_file_gets_an_error_naming_file_line_and_field(
    tmp_path: Path, filename: str, text: str, line: int, field: str | None, message: str
) -> None:
    (tmp_path / "ok.txt").write_text("fine")
    path = write_template(tmp_path, filename, text)
    with pytest.raises(TemplateSpecError) as caught:
        load_spec(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(path), line, field)
    assert message in str(error)
    assert str(error).startswith(f"{path}:{line}:")
    assert error.code == "template_invalid"
    assert error.http_status == 422


def test_an_unreadable_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"description: caf\xe9\n")
    with pytest.raises(TemplateSpecError, match="cannot read") as caught:
        load_spec(path)
    assert caught.value.path == str(path)


def test_a_bad_template_entry_names_the_file_and_field(tmp_path: Path) -> None:
    path = write_template(tmp_path, "bad.yaml", "egress:\n  allow: ['example.com']\n")
    with pytest.raises(TemplateSpecError) as raised:
        load_spec(path)
    assert "egress" in str(raised.value)
    assert "a port is required" in str(raised.value)


def test_a_template_without_egress_keeps_its_build_hash(tmp_path: Path) -> None:
    path = write_template(tmp_path, "plain.yaml", "packages: []\n")
    assert "egress" not in load_spec(path).canonical()
    listed = write_template(tmp_path, "listed.yaml", "egress:\n  allow: ['a.example.com:443']\n")
    assert load_spec(listed).canonical()["egress"] == {"allow": ["a.example.com:443"]}
