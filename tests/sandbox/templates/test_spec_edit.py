"""Folding packages into a template file: the packages list is edited in place (comments and
layout kept), packages already listed are skipped, and a result that is not a valid template
leaves the file as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.sandbox.templates import TemplateSpecError, load_spec
from sandbox_analyst.sandbox.templates.spec_edit import add_packages


def test_a_yaml_flow_list_keeps_its_comment_and_skips_listed_packages(tmp_path: Path) -> None:
    path = tmp_path / "nlp.yaml"
    path.write_text("# text analysis\npackages: [nltk==3.9.1]  # pinned\npreload: [nltk]\n")
    assert add_packages(path, ["NLTK==3.8", "faker==30.0"]) == ["faker==30.0"]
    assert path.read_text() == (
        "# text analysis\npackages: [nltk==3.9.1, faker==30.0]  # pinned\npreload: [nltk]\n"
    )


def test_a_yaml_block_list_gets_items_in_its_own_indentation(tmp_path: Path) -> None:
    path = tmp_path / "nlp.yaml"
    path.write_text("packages:\n    - nltk  # the tokenizer\n    # more later\npreload: []\n")
    add_packages(path, ["faker"])
    assert path.read_text() == (
        "packages:\n    - nltk  # the tokenizer\n    - faker\n    # more later\npreload: []\n"
    )
    assert load_spec(path).packages == ["nltk", "faker"]


def test_a_file_without_packages_gets_a_list(tmp_path: Path) -> None:
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text("description: plain\n")
    add_packages(yaml_file, ["faker"])
    assert load_spec(yaml_file).packages == ["faker"]
    toml_file = tmp_path / "b.toml"
    toml_file.write_text('description = "plain"\n\n[limits]\ntimeout = 30\n')
    add_packages(toml_file, ["faker>=30"])
    assert load_spec(toml_file).packages == ["faker>=30"]
    assert load_spec(toml_file).limits.timeout == 30


def test_toml_one_line_lists_are_extended_and_multi_line_ones_are_left_to_the_admin(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('packages = ["nltk"]  # core\n')
    add_packages(path, ["faker"])
    assert path.read_text() == 'packages = ["nltk", "faker"]  # core\n'
    path.write_text('packages = [\n  "nltk",\n]\n')
    with pytest.raises(TemplateSpecError, match=r"c.toml:1: field 'packages': .*by hand"):
        add_packages(path, ["faker"])
    assert path.read_text() == 'packages = [\n  "nltk",\n]\n'


def test_an_edit_that_makes_the_template_invalid_is_undone(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("packages: [nltk]\n")
    with pytest.raises(TemplateSpecError, match="only packages from the index"):
        add_packages(path, ["evil @ https://example.com/evil-1.0-py3-none-any.whl"])
    assert path.read_text() == "packages: [nltk]\n"
