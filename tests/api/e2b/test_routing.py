"""How requests find their sandbox: the SDKs' `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers,
or the host name `<port>-<sandbox id>.<domain>` that a wildcard reverse proxy passes on
(`E2B_DOMAIN`). Plain HTTP here, as the SDKs' requests would arrive behind the proxy."""

from __future__ import annotations

import json

import httpx
import pytest
from e2b_code_interpreter import AsyncSandbox

from tests.api.e2b.conftest import E2BUser

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOMAIN = "sandboxes.example.org"


async def test_the_host_name_routes_like_the_headers(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(**alice.opts)
    try:
        await sandbox.files.write("/home/user/hello.txt", "by host name")
        async with httpx.AsyncClient(base_url=alice.url) as http:
            control = {"Host": f"api.{DOMAIN}", "X-API-Key": alice.api_key}
            response = await http.get(f"/sandboxes/{sandbox.sandbox_id}", headers=control)
            assert response.json()["sandboxID"] == sandbox.sandbox_id
            token = response.json()["envdAccessToken"]

            envd = {"Host": f"49983-{sandbox.sandbox_id}.{DOMAIN}", "X-Access-Token": token}
            response = await http.get("/files", params={"path": "hello.txt"}, headers=envd)
            assert response.status_code == 200
            assert response.content == b"by host name"
            assert (await http.get("/health", headers=envd)).status_code == 204

            interpreter = {"Host": f"49999-{sandbox.sandbox_id}.{DOMAIN}", "X-Access-Token": token}
            response = await http.post("/execute", json={"code": "6 * 7"}, headers=interpreter)
            lines = [json.loads(line) for line in response.text.splitlines()]
            assert [line["type"] for line in lines][-1] == "end_of_execution"
            assert any(line.get("text") == "42" for line in lines if line["type"] == "result")
            assert (await http.get("/health", headers=interpreter)).json() == "OK"
    finally:
        await sandbox.kill()


async def test_requests_for_a_sandbox_that_is_gone_get_e2b_proxy_answers(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(**alice.opts)
    await sandbox.kill()
    async with httpx.AsyncClient(base_url=alice.url) as http:
        headers = {"E2b-Sandbox-Id": sandbox.sandbox_id, "E2b-Sandbox-Port": "49999"}
        response = await http.post("/execute", json={"code": "1"}, headers=headers)
        assert response.status_code == 502
        assert response.json() == {
            "sandboxId": sandbox.sandbox_id,
            "message": "The sandbox was not found",
            "code": 502,
        }
        response = await http.get(
            f"/sandboxes/{sandbox.sandbox_id}", headers={"X-API-Key": alice.api_key}
        )
        assert response.status_code == 404
        assert set(response.json()) == {"code", "message"}
        assert (await http.get("/sandboxes")).json()["code"] == 401


async def test_bad_requests_get_e2b_errors(alice: E2BUser) -> None:
    async with httpx.AsyncClient(base_url=alice.url, headers={"X-API-Key": alice.api_key}) as http:
        response = await http.post("/sandboxes", json={"timeout": "soon"})
        assert response.status_code == 400
        assert response.json()["code"] == 400
        response = await http.post("/v2/sandboxes", content=b"{not json")
        assert response.status_code == 400
        response = await http.post("/sandboxes", json={"templateID": "base", "metadata": [1]})
        assert response.status_code == 400


async def test_presigned_file_urls_need_no_headers(alice: E2BUser) -> None:
    """`download_url` / `upload_url` sign the path with the sandbox's token; behind a wildcard
    proxy the host name says which sandbox (a browser sends nothing else)."""
    sandbox = await AsyncSandbox.create(**alice.opts)
    try:
        await sandbox.files.write("/home/user/report.csv", "a,b\n")
        host = {"Host": f"49983-{sandbox.sandbox_id}.{DOMAIN}"}
        download = httpx.URL(sandbox.download_url("/home/user/report.csv"))
        upload = httpx.URL(sandbox.upload_url("/home/user/up.txt", use_signature_expiration=600))
        async with httpx.AsyncClient(base_url=alice.url, headers=host) as http:
            response = await http.get("/files", params=download.params)
            assert (response.status_code, response.content) == (200, b"a,b\n")
            response = await http.post(
                "/files", params=upload.params, files={"file": ("up.txt", b"uploaded")}
            )
            assert response.status_code == 200, response.text
            tampered = dict(download.params)
            tampered["path"] = "/home/user/up.txt"  # the signature was for another file
            assert (await http.get("/files", params=tampered)).status_code == 401
            # A read signature does not allow a write.
            response = await http.post(
                "/files", params=download.params, files={"file": ("x", b"x")}
            )
            assert response.status_code == 401
        assert await sandbox.files.read("/home/user/up.txt") == "uploaded"
    finally:
        await sandbox.kill()
