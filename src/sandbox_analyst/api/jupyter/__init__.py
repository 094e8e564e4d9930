"""The subset of the Jupyter server API that Open WebUI's code interpreter (and jupyter_client
style clients) use, under `/jupyter`, each kernel one of the caller's isolated sandboxes
(docs/open-webui.md): `rest` (version, kernel specs, kernels), `channels` (the websocket),
`messages` (Jupyter messages v5), `auth` (`?token=` / `Authorization: token` = an API key)."""

from fastapi import APIRouter

from sandbox_analyst.api.jupyter import channels, rest

router = APIRouter()
router.include_router(rest.router)
router.include_router(channels.router)

__all__ = ["router"]
