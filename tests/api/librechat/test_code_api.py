"""LibreChat's Code API over HTTP: uploads, executions on the uploaded files under /mnt/data,
files written by the code returned and downloadable, ids in LibreChat's shape, and each
caller seeing only their own sessions."""

from __future__ import annotations

import re
import shutil

import httpx
import pytest

from tests.api.librechat.conftest import BASE, Keys, SigningKey

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIBRECHAT_ID = re.compile(r"^[A-Za-z0-9_-]{21}$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def key(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


async def upload(client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes):
    response = await client.post(
        f"{BASE}/upload",
        headers=headers,
        files={"file": (name, data)},
        data={"entity_id": "agent_1"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_health_answers_without_credentials(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/health")
    assert response.status_code == 200


async def test_python_reads_an_upload_under_mnt_data_and_its_chart_downloads_as_png(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    uploaded = await upload(client, key(keys.alice), "sales.csv", b"region,amount\nN,3\nS,5\n")
    assert uploaded["message"] == "success"
    assert uploaded["session_id"] == uploaded["storage_session_id"]
    (ref,) = uploaded["files"]
    assert ref["filename"] == "sales.csv"
    assert LIBRECHAT_ID.match(uploaded["session_id"])
    assert LIBRECHAT_ID.match(ref["fileId"])

    code = (
        "import pandas as pd, matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "df = pd.read_csv('/mnt/data/sales.csv')\n"
        "print(df.amount.sum(), open('sales.csv').read() == open('/mnt/data/sales.csv').read())\n"
        "df.plot.bar(x='region', y='amount')\n"
        "plt.savefig('/mnt/data/chart.png')\n"
    )
    files = [
        {
            "id": ref["fileId"],
            "resource_id": "agent_1",
            "name": "sales.csv",
            "storage_session_id": uploaded["storage_session_id"],
            "kind": "user",
        }
    ]
    response = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "py", "code": code, "files": files}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["stdout"] == "8 True\n"
    assert result["stderr"] == ""
    assert LIBRECHAT_ID.match(result["session_id"])
    (chart,) = result["files"]  # the input itself is not returned: it did not change
    assert chart["name"] == "chart.png"
    assert chart["path"] == "/mnt/data/chart.png"
    assert LIBRECHAT_ID.match(chart["id"])

    download = await client.get(
        f"{BASE}/download/{result['session_id']}/{chart['id']}", headers=key(keys.alice)
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert download.content.startswith(PNG_MAGIC)

    listed = await client.get(
        f"{BASE}/files/{result['session_id']}",
        headers=key(keys.alice),
        params={"detail": "summary"},
    )
    assert listed.status_code == 200
    (entry,) = listed.json()
    assert entry["name"] == f"{result['session_id']}/{chart['id']}"
    assert entry["metadata"]["original-filename"] == "chart.png"
    assert entry["lastModified"].endswith("Z")


async def test_bash_runs_on_the_same_files_and_a_failed_call_returns_none(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    uploaded = await upload(client, key(keys.alice), "notes.txt", b"one\ntwo\n")
    files = [
        {
            "id": uploaded["files"][0]["fileId"],
            "name": "notes.txt",
            "storage_session_id": uploaded["session_id"],
        }
    ]
    ok = await client.post(
        f"{BASE}/exec",
        headers=key(keys.alice),
        json={
            "lang": "bash",
            "code": "wc -l < /mnt/data/notes.txt; echo hi > /mnt/data/hi.txt",
            "files": files,
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["stdout"] == "2\n"
    assert [item["name"] for item in ok.json()["files"]] == ["hi.txt"]

    failed = await client.post(
        f"{BASE}/exec",
        headers=key(keys.alice),
        json={"lang": "bash", "code": "echo partial > /mnt/data/p.txt; echo oops >&2; exit 3"},
    )
    assert failed.status_code == 200
    assert failed.json()["stderr"] == "oops\n"
    assert failed.json()["files"] == []


async def test_python_errors_come_back_on_stderr(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "py", "code": "print(1)\n1/0"}
    )
    assert response.status_code == 200
    assert response.json()["stdout"] == "1\n"
    assert "ZeroDivisionError" in response.json()["stderr"]


async def test_variables_live_on_only_in_the_stateful_profile(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    stateful = {**key(keys.alice), "X-CodeAPI-Expected-Profile": "stateful"}
    body = {"lang": "py", "runtime_session_hint": "conversation-1"}
    first = await client.post(f"{BASE}/exec", headers=stateful, json={**body, "code": "x = 41"})
    assert first.status_code == 200, first.text
    assert first.json()["runtime_status"] == "new"
    second = await client.post(
        f"{BASE}/exec", headers=stateful, json={**body, "code": "print(x + 1)"}
    )
    assert second.json()["stdout"] == "42\n"
    assert second.json()["runtime_status"] == "reused"
    assert second.json()["runtime_session_id"] == first.json()["runtime_session_id"]

    default = {**key(keys.alice), "X-CodeAPI-Expected-Profile": "default"}
    again = await client.post(f"{BASE}/exec", headers=default, json={"lang": "py", "code": "x"})
    assert "NameError" in again.json()["stderr"]
    assert "runtime_session_id" not in again.json()


async def test_batch_upload_puts_every_file_in_one_session(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    response = await client.post(
        f"{BASE}/upload/batch",
        headers=key(keys.alice),
        files=[("file", ("a.csv", b"x\n1\n")), ("file", ("b.json", b"{}"))],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session_id"] == body["storage_session_id"]
    assert (body["succeeded"], body["failed"]) == (2, 0)
    assert [item["filename"] for item in body["files"]] == ["a.csv", "b.json"]
    listed = await client.get(f"{BASE}/files/{body['session_id']}", headers=key(keys.alice))
    assert sorted(item["metadata"]["original-filename"] for item in listed.json()) == [
        "a.csv",
        "b.json",
    ]


async def test_a_deleted_file_is_gone(client: httpx.AsyncClient, keys: Keys) -> None:
    uploaded = await upload(client, key(keys.alice), "tmp.txt", b"bye")
    path = f"{uploaded['session_id']}/{uploaded['files'][0]['fileId']}"
    deleted = await client.delete(f"{BASE}/files/{path}", headers=key(keys.alice))
    assert deleted.status_code == 200
    assert (await client.get(f"{BASE}/download/{path}", headers=key(keys.alice))).status_code == 404


async def test_another_users_session_does_not_exist_for_them(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    uploaded = await upload(client, key(keys.alice), "private.csv", b"secret\n")
    session_id, file_id = uploaded["session_id"], uploaded["files"][0]["fileId"]
    bob = key(keys.bob)
    assert (await client.get(f"{BASE}/files/{session_id}", headers=bob)).status_code == 404
    assert (
        await client.get(f"{BASE}/download/{session_id}/{file_id}", headers=bob)
    ).status_code == 404
    assert (
        await client.delete(f"{BASE}/files/{session_id}/{file_id}", headers=bob)
    ).status_code == 404
    ref = {"id": file_id, "name": "private.csv", "storage_session_id": session_id}
    stolen = await client.post(
        f"{BASE}/exec", headers=bob, json={"lang": "py", "code": "print(1)", "files": [ref]}
    )
    assert stolen.status_code == 422  # LibreChat: rejected, as 400
    reused = await client.post(
        f"{BASE}/exec", headers=bob, json={"lang": "py", "code": "1", "session_id": session_id}
    )
    assert reused.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "sa_not-a-key"}, {"Authorization": "Bearer not.a.jwt"}],
    ids=["none", "bad-key", "bad-jwt"],
)
async def test_requests_without_valid_credentials_get_401(
    client: httpx.AsyncClient, keys: Keys, headers: dict[str, str]
) -> None:
    response = await client.post(f"{BASE}/exec", headers=headers, json={"lang": "py", "code": "1"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_jwts_of_librechat_are_accepted_and_keep_its_users_apart(
    client: httpx.AsyncClient, keys: Keys, signing_key: SigningKey
) -> None:
    first = {"Authorization": f"Bearer {signing_key.token('lc-user-1')}"}
    second = {"Authorization": f"Bearer {signing_key.token('lc-user-2')}"}
    uploaded = await upload(client, first, "mine.txt", b"1")
    ok = await client.get(f"{BASE}/files/{uploaded['session_id']}", headers=first)
    assert ok.status_code == 200
    assert len(ok.json()) == 1
    other = await client.get(f"{BASE}/files/{uploaded['session_id']}", headers=second)
    assert other.status_code == 404
    # Nor does the API key of the account the JWTs act as see them: they are the JWT user's.
    assert (
        await client.get(f"{BASE}/files/{uploaded['session_id']}", headers=key(keys.alice))
    ).status_code == 404


@pytest.mark.parametrize(
    "claims",
    [{"aud": "someone-else"}, {"iss": "not-librechat"}, {"exp": 1_000_000}],
    ids=["audience", "issuer", "expired"],
)
async def test_jwts_with_the_wrong_claims_get_401(
    client: httpx.AsyncClient, keys: Keys, signing_key: SigningKey, claims: dict[str, object]
) -> None:
    token = signing_key.token(**claims)
    response = await client.get(
        f"{BASE}/files/AAAAAAAAAAAAAAAAAAAAA", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_sql_queries_an_upload_and_r_returns_its_plot_as_a_file(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    uploaded = await upload(client, key(keys.alice), "sales.csv", b"region,amount\nN,3\nS,5\n")
    (ref,) = uploaded["files"]
    files = [
        {
            "id": ref["fileId"],
            "resource_id": "agent_1",
            "name": "sales.csv",
            "storage_session_id": uploaded["storage_session_id"],
            "kind": "user",
        }
    ]
    query = "SELECT sum(amount) AS total FROM '/mnt/data/sales.csv'"
    response = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "sql", "code": query, "files": files}
    )
    assert response.status_code == 200, response.text
    assert response.json()["stdout"].split() == ["total", "0", "8.0"]
    failed = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "sql", "code": "SELEC 1"}
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["stderr"].startswith("ParserException: Parser Error: syntax error")
    if shutil.which("Rscript") is None:
        return
    plotted = await client.post(
        f"{BASE}/exec",
        headers=key(keys.alice),
        json={
            "lang": "r",
            "code": "cat(nrow(read.csv('sales.csv')), '\\n')\nplot(1:3)",
            "files": files,
        },
    )
    assert plotted.status_code == 200, plotted.text
    result = plotted.json()
    assert result["stdout"] == "2 \n"
    (plot,) = result["files"]
    assert plot["name"].endswith(".png")


async def test_ids_are_21_characters_and_never_start_with_a_dash(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    from sandbox_analyst.service.librechat import new_librechat_id

    made = {new_librechat_id() for _ in range(2000)}
    assert len(made) == 2000
    assert all(LIBRECHAT_ID.match(item) and not item.startswith("-") for item in made)
    # Ids of another shape name nothing: 404, never a database error.
    for bad in ("short", "x" * 22, "-AAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAA%2E"):
        response = await client.get(f"{BASE}/files/{bad}", headers=key(keys.alice))
        assert response.status_code == 404, bad


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        ({"lang": "py"}, {}, 422, "invalid_request"),
        ({"lang": "rs", "code": "fn main() {}"}, {}, 400, "unsupported_language"),
        (
            {"lang": "py", "code": "1"},
            {"X-CodeAPI-Expected-Profile": "gpu"},
            400,
            "execution_profile_mismatch",
        ),
        ({"lang": "py", "code": "1", "files": [{"id": "x"}]}, {}, 422, "validation_error"),
        (
            {
                "lang": "py",
                "code": "1",
                "files": [
                    {"id": "AAAAAAAAAAAAAAAAAAAAA", "storage_session_id": "AAAAAAAAAAAAAAAAAAAAA"}
                ],
            },
            {},
            422,
            "validation_error",
        ),
    ],
    ids=["no-code", "language", "profile", "ref-without-session", "unknown-file"],
)
async def test_bad_requests_are_refused_in_librechats_shape(
    client: httpx.AsyncClient,
    keys: Keys,
    body: dict[str, object],
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = await client.post(f"{BASE}/exec", headers={**key(keys.alice), **headers}, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_an_upload_without_a_file_name_or_file_is_refused(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    nameless = await client.post(
        f"{BASE}/upload", headers=key(keys.alice), files={"file": ("", b"x")}
    )
    assert nameless.status_code == 422
    empty = await client.post(
        f"{BASE}/upload", headers=key(keys.alice), data={"entity_id": "a"}, files={"x": ("a", b"")}
    )
    assert empty.status_code == 422


async def test_a_link_the_code_plants_is_not_followed_into_a_returned_file(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    code = "ln -s /etc/passwd /mnt/data/passwd.txt; echo real > /mnt/data/real.txt"
    response = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "bash", "code": code}
    )
    assert response.status_code == 200, response.text
    assert [item["name"] for item in response.json()["files"]] == ["real.txt"]


async def test_figures_shown_rather_than_saved_come_back_as_image_files(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    shown = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3]); plt.show()\n"
        "plt.bar(['a', 'b'], [1, 2]); plt.show()\n"
    )
    response = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "py", "code": shown}
    )
    assert response.status_code == 200, response.text
    files = response.json()["files"]
    assert [item["name"] for item in files] == ["figure-1.png", "figure-2.png"]
    image = await client.get(
        f"{BASE}/download/{response.json()['session_id']}/{files[1]['id']}",
        headers=key(keys.alice),
    )
    assert image.content.startswith(PNG_MAGIC)

    saved = "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.savefig('/mnt/data/line.png')\n"
    response = await client.post(
        f"{BASE}/exec", headers=key(keys.alice), json={"lang": "py", "code": saved}
    )
    # The figure left open is not returned a second time as figure-1.png.
    assert [item["name"] for item in response.json()["files"]] == ["line.png"]


async def test_a_kept_sandbox_gets_an_input_again_when_a_failed_call_spoiled_it(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    uploaded = await upload(client, key(keys.alice), "data.csv", b"a\n1\n")
    ref = {
        "id": uploaded["files"][0]["fileId"],
        "name": "data.csv",
        "storage_session_id": uploaded["session_id"],
    }
    headers = {**key(keys.alice), "X-CodeAPI-Expected-Profile": "stateful"}
    body = {"lang": "py", "runtime_session_hint": "spoiled", "files": [ref]}
    spoil = "open('/mnt/data/data.csv', 'w').write('broken'); raise RuntimeError('failed')"
    failed = await client.post(f"{BASE}/exec", headers=headers, json={**body, "code": spoil})
    assert "RuntimeError" in failed.json()["stderr"]
    read = "print(open('/mnt/data/data.csv').read(), end='')"
    again = await client.post(f"{BASE}/exec", headers=headers, json={**body, "code": read})
    assert again.json()["runtime_status"] == "reused"
    assert again.json()["stdout"] == "a\n1\n"
