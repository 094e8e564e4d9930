"""What the mount plan covers, and what it binds back."""

from __future__ import annotations

import os
import sys

from sandbox_analyst.sandbox.local.isolation.allowed_paths import is_within, python_paths
from sandbox_analyst.sandbox.local.isolation.filesystem import MountPlan


def test_python_paths_cover_the_interpreter_and_skip_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    paths = python_paths()
    assert any(is_within(sys.base_prefix, path) for path in paths)
    assert any(is_within(sys.prefix, path) for path in paths)
    assert str(tmp_path) not in paths


def test_python_paths_never_include_a_hidden_directory(tmp_path, monkeypatch):
    hidden = tmp_path / "data"
    hidden.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    assert str(tmp_path) not in python_paths(hidden=(str(hidden),))


def test_plan_covers_homes_and_tmp_and_binds_python_back(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    plan = MountPlan.build(
        hidden=(str(data),),
        read_paths=("/usr", "/root/.pyenv/versions/3.11", str(venv)),
        tmpfs_size_mb=64,
    )
    assert "/tmp" in plan.private
    assert "/root" in plan.hidden
    assert "/home" in plan.hidden
    assert str(data) not in plan.hidden  # already gone with /tmp
    assert set(plan.rebind) == {"/root/.pyenv/versions/3.11", str(venv)}
    assert plan.workdir_target == "/home/user"


def test_plan_also_binds_the_workdir_at_mnt_data_inside_the_tmpfs_hiding_mnt():
    plan = MountPlan.build(hidden=(), read_paths=("/usr",), tmpfs_size_mb=64)
    if os.path.isdir("/mnt") and os.path.realpath("/mnt") == "/mnt":
        assert "/mnt" in plan.hidden
        assert plan.workdir_aliases == ("/mnt/data",)
    else:  # nowhere to make the mountpoint without touching the host
        assert plan.workdir_aliases == ()


def test_no_alias_where_a_path_is_bound_back_under_it():
    plan = MountPlan.build(hidden=(), read_paths=("/mnt/data/venv",), tmpfs_size_mb=64)
    assert plan.workdir_aliases == ()


def test_workdir_target_avoids_paths_bound_back_under_it():
    plan = MountPlan.build(hidden=(), read_paths=("/home/user/venv",), tmpfs_size_mb=64)
    assert plan.workdir_target != "/home/user"
    assert plan.workdir_target.startswith("/home/")


def test_plan_hides_the_cgroup_tree_that_names_every_session():
    plan = MountPlan.build(hidden=(), read_paths=("/usr",), tmpfs_size_mb=64)
    if os.path.isdir("/sys/fs/cgroup"):
        assert os.path.realpath("/sys/fs/cgroup") in plan.hidden
