"""The REST half of /jupyter: a Jupyter server's kernel API, each kernel one of the caller's
sandboxes, and only theirs; the token is an API key, in `?token=` or `Authorization`."""

from __future__ import annotations

import httpx
import pytest

from tests.api.jupyter.conftest import Keys

pytestmark = pytest.mark.asyncio(loop_scope="session")


def token(key: str) -> dict[str, str]:
    return {"token": key}


async def test_version_and_the_one_kernel_spec(client: httpx.AsyncClient, keys: Keys) -> None:
    version = await client.get("/jupyter/api")
    specs = await client.get("/jupyter/api/kernelspecs", params=token(keys.alice))
    assert version.status_code == 200
    assert version.json()["version"].startswith("2.")
    assert specs.status_code == 200
    assert specs.json()["default"] == "python3"
    spec = specs.json()["kernelspecs"]["python3"]["spec"]
    assert spec["language"] == "python"


async def test_a_kernel_is_started_listed_read_and_deleted(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    started = await client.post("/jupyter/api/kernels", params=token(keys.alice))
    assert started.status_code == 201
    kernel = started.json()
    assert kernel["name"] == "python3"
    assert kernel["execution_state"] == "idle"
    assert started.headers["location"] == f"/jupyter/api/kernels/{kernel['id']}"
    listed = await client.get("/jupyter/api/kernels", params=token(keys.alice))
    assert [k["id"] for k in listed.json()] == [kernel["id"]]
    read = await client.get(f"/jupyter/api/kernels/{kernel['id']}", params=token(keys.alice))
    assert read.json()["id"] == kernel["id"]

    deleted = await client.delete(f"/jupyter/api/kernels/{kernel['id']}", params=token(keys.alice))
    assert deleted.status_code == 204
    gone = await client.get(f"/jupyter/api/kernels/{kernel['id']}", params=token(keys.alice))
    assert gone.status_code == 404
    assert gone.json()["reason"] == "kernel_not_found"


async def test_the_token_may_come_in_the_authorization_header(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    for scheme in ("token", "Bearer"):
        response = await client.post(
            "/jupyter/api/kernels",
            json={"name": "python3"},
            headers={"Authorization": f"{scheme} {keys.alice}"},
        )
        assert response.status_code == 201, response.text


async def test_without_a_valid_token_nothing_is_served(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    missing = await client.post("/jupyter/api/kernels")
    wrong = await client.get("/jupyter/api/kernels", params=token("sk-not-a-key"))
    revoked = await client.post("/jupyter/api/kernels", params=token(keys.revoked))
    assert missing.status_code == 401
    assert "?token=" in missing.json()["message"]
    assert wrong.status_code == 401
    assert wrong.json() == {"message": "invalid API key", "reason": "unauthorized"}
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]


@pytest.mark.parametrize("intruder", ["bob", "root"])
async def test_another_users_kernel_does_not_exist_for_them(
    client: httpx.AsyncClient, keys: Keys, intruder: str
) -> None:
    """Not even for an admin: a kernel is its owner's running code and data."""
    kernel = (await client.post("/jupyter/api/kernels", params=token(keys.alice))).json()
    path = f"/jupyter/api/kernels/{kernel['id']}"
    other = token(getattr(keys, intruder))
    assert (await client.get(path, params=other)).status_code == 404
    assert (await client.delete(path, params=other)).status_code == 404
    assert (await client.post(f"{path}/interrupt", params=other)).status_code == 404
    assert (await client.post(f"{path}/restart", params=other)).status_code == 404
    assert (await client.get("/jupyter/api/kernels", params=other)).json() == []
    assert (await client.get(path, params=token(keys.alice))).status_code == 200


async def test_an_unknown_kernel_name_is_refused(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.post(
        "/jupyter/api/kernels", params=token(keys.alice), json={"name": "ir"}
    )
    assert response.status_code == 404
    assert "'ir'" in response.json()["message"]
