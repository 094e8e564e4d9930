"""`GET /api/conversations/{id}/export.ipynb` (a Jupyter notebook of the conversation, outputs
and charts included) and `/export.py` (the code that succeeded, as a script)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sandbox_analyst.api.auth import CurrentPrincipal, ServicesDep
from sandbox_analyst.service import ExportedFile, content_disposition

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.get(
    "/{conversation_id}/export.ipynb",
    response_class=Response,
    responses={200: {"content": {"application/x-ipynb+json": {}}, "description": "nbformat 4"}},
)
async def export_notebook(
    conversation_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    """The conversation as a Jupyter notebook: questions and answers as markdown, each piece
    of code with its outputs, charts embedded; input files (name, sha256) and the template's
    package versions in the metadata."""
    return _download(await services.notebooks.ipynb(principal, conversation_id))


@router.get(
    "/{conversation_id}/export.py",
    response_class=Response,
    responses={200: {"content": {"text/x-python": {}}, "description": "A py:percent script."}},
)
async def export_script(
    conversation_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    """The code that succeeded, in order, with the questions as comments."""
    return _download(await services.notebooks.script(principal, conversation_id))


def _download(exported: ExportedFile) -> Response:
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={
            "Content-Disposition": content_disposition(exported.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
