"""`/api/v1/{tenant}/flows`: create, update, get, delete, list, search, validate, bulk,
revisions. Writes go through the FlowWriter (revision numbers agreed on the topic)."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from ostinato.flow.model import Flow
from ostinato.flow.parser import (
    FlowValidationError,
    parse_flow,
    validate_flow,
    validate_flow_with_warnings,
)
from ostinato.kafka.flow_writer import FlowWriteError
from ostinato.sandbox.yaml_load import load_yaml
from ostinato.wire.records import FlowRevision
from ostinato.services.api.context import Api, tenant_id_of
from ostinato.services.api.errors import ApiError, not_found
from ostinato.services.api.kestra_json import flow_json
from ostinato.services.api.routes.common import api_of, label_pairs, paged, tenant_of

router = APIRouter(tags=["Flows"])

YAML_BODY = {"requestBody": {"content": {"application/x-yaml": {"schema": {"type": "string"}}},
                             "required": True}}

#: Kestra splits multi-flow bodies on `---` lines
_DOCUMENTS = re.compile(r"^---\s*$", re.MULTILINE)


async def _text(request: Request) -> str:
    body = await request.body()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(422, "The flow is not UTF-8 text", [str(error)]) from None


def _documents(text: str) -> list[str]:
    return [doc.strip() + "\n" for doc in _DOCUMENTS.split(text) if doc.strip()]


def _invalid(error: FlowValidationError) -> ApiError:
    return ApiError(422, "Invalid flow", [str(e) for e in error.errors])


async def _save(api: Api, source: str, tenant_id: str | None) -> dict[str, Any]:
    try:  # off the loop, but not on the parse threads: a save also waits on the broker
        saved = await asyncio.to_thread(api.writer.save, source, tenant_id=tenant_id)
    except FlowValidationError as error:
        raise _invalid(error) from None
    except FlowWriteError as error:
        raise ApiError(503, str(error)) from None
    return flow_json(saved.revision, saved.flow)


@router.post("/flows", openapi_extra=YAML_BODY, summary="Create a flow from its YAML source "
             "(an existing flow gets a new revision; an unchanged source keeps its revision)")
async def create_flow(request: Request, tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    return await _save(api, await _text(request), tenant_id_of(tenant))


@router.post("/flows/validate", openapi_extra=YAML_BODY, summary="Validate flows (YAML documents "
             "separated by `---`): every error with its path and line")
async def validate_flows(request: Request, tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    text = await _text(request)
    return await api.cpu.run(_validation_report, api, text, tenant)


def _validation_report(api: Api, text: str, tenant: str) -> list[dict[str, Any]]:
    """Kestra's validation items of every document of `text` (CPU-bound: off the loop)."""
    out = []
    for index, source in enumerate(_documents(text)):
        errors, warnings = validate_flow_with_warnings(source)
        item: dict[str, Any] = {"index": index, "outdated": False, "deprecationPaths": [],
                                "warnings": [str(w) for w in warnings], "infos": []}
        data = _mapping(source)
        ids = _ids(data)
        item.update(ids)
        if errors:
            item["constraints"] = "\n".join(str(e) for e in errors)
            item["details"] = [str(e) for e in errors]
            # beyond Kestra's shape: each error's path and line apart (the web UI marks lines)
            item["errors"] = [{"path": e.path, "line": e.line, "message": e.message} for e in errors]
        elif ids.get("namespace") and ids.get("flow"):
            latest = api.flows.latest_revision(ids["namespace"], ids["flow"], tenant_id_of(tenant))
            sent = data.get("revision")
            if isinstance(sent, int):
                item["outdated"] = sent != (latest.revision if latest else 0) + 1
        out.append(item)
    return out


def _mapping(source: str) -> dict[str, Any]:
    """The document as a mapping (empty if it is not one), loaded with the YAML budget."""
    try:
        data = load_yaml(source)
    except (yaml.YAMLError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _ids(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(data[f]) for k, f in (("flow", "id"), ("namespace", "namespace")) if f in data}


@router.post("/flows/bulk", openapi_extra=YAML_BODY,
             summary="Create or update several flows (YAML documents separated by `---`); as "
                     "Kestra's, `delete=true` (the default) deletes every other flow of the tenant")
async def bulk_update(request: Request, delete: bool = True,
                      tenant: str = Depends(tenant_of)) -> Any:
    return await _update_many(request, None, delete, tenant)


@router.get("/flows/search", summary="Search flows by namespace (prefix), text and labels")
def search_flows(request: Request, q: str | None = None, namespace: str | None = None,
                 labels: list[str] = Query(default=[]), page: int = Query(1, ge=1),
                 size: int = Query(10, ge=1), sort: list[str] = Query(default=[]),
                 tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    found = [flow_json(_revision(api, flow, tenant), flow, source=False)
             for flow in _matching(api, tenant, q, namespace, labels)]
    return paged(found, page, size, sort, default="id")


@router.get("/flows/export/by-query", summary="The YAML sources of the flows a search finds, "
            "as a ZIP archive (`<namespace>.<id>.yml` each)")
def export_by_query(request: Request, q: str | None = None, namespace: str | None = None,
                    labels: list[str] = Query(default=[]), tenant: str = Depends(tenant_of)) -> Response:
    api = api_of(request)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for flow in _matching(api, tenant, q, namespace, labels):
            zipped.writestr(f"{flow.namespace}.{flow.id}.yml", _revision(api, flow, tenant).source)
    return Response(archive.getvalue(), media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="flows.zip"'})


def _matching(api: Api, tenant: str, q: str | None, namespace: str | None,
              labels: list[str]) -> list[Flow]:
    """The latest flows of the tenant under `namespace` (a prefix), containing `q` in their
    uid or description, with every `key:value` label."""
    wanted = label_pairs(labels)
    found = []
    for flow in _latest(api, tenant):
        if namespace and not (flow.namespace == namespace or flow.namespace.startswith(namespace + ".")):
            continue
        if q and q.lower() not in f"{flow.namespace}.{flow.id} {flow.description or ''}".lower():
            continue
        if any(str(flow.labels.get(k)) != v for k, v in wanted.items()):
            continue
        found.append(flow)
    return found


@router.get("/flows/distinct-namespaces", summary="The namespaces that have flows (`q` filters)")
def distinct_namespaces(request: Request, q: str | None = None, tenant: str = Depends(tenant_of)) -> Any:
    namespaces = {f.namespace for f in _latest(api_of(request), tenant)}
    return sorted(n for n in namespaces if not q or q.lower() in n.lower())


@router.get("/flows/{namespace}", summary="Every flow of a namespace (latest revisions)")
def flows_of_namespace(request: Request, namespace: str, tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    flows = [f for f in _latest(api, tenant) if f.namespace == namespace]
    return [flow_json(_revision(api, f, tenant), f, source=False) for f in sorted(flows, key=lambda f: f.id)]


@router.post("/flows/{namespace}", openapi_extra=YAML_BODY,
             summary="Update a whole namespace: create or update each flow given; with "
                     "`delete=true` (the default) delete the namespace's other flows")
async def update_namespace(request: Request, namespace: str, delete: bool = True,
                           tenant: str = Depends(tenant_of)) -> Any:
    return await _update_many(request, namespace, delete, tenant)


async def _update_many(request: Request, namespace: str | None, delete: bool, tenant: str) -> Any:
    api = api_of(request)
    parsed, details = await api.cpu.run(_parse_all, await _text(request), namespace)
    seen: set[tuple[str, str]] = set()
    for _, flow in parsed:
        if (flow.namespace, flow.id) in seen:
            details.append(f"duplicate flow id: {flow.namespace}.{flow.id} is given twice")
        seen.add((flow.namespace, flow.id))
    if details:
        raise ApiError(422, "Invalid flows: nothing was saved", details)
    tenant_id = tenant_id_of(tenant)
    out = []
    if delete:  # the namespace's other flows, or (bulk) every other flow of the tenant
        for flow in _latest(api, tenant):
            if (namespace is None or flow.namespace == namespace) and (flow.namespace, flow.id) not in seen:
                gone = await asyncio.to_thread(api.writer.delete, flow.namespace, flow.id,
                                               tenant_id=tenant_id)
                if gone is not None:
                    out.append(flow_json(gone, flow, source=False))
    for source, _ in parsed:
        out.append(await _save(api, source, tenant_id))
    return out


def _parse_all(text: str, namespace: str | None) -> tuple[list[tuple[str, Flow]], list[str]]:
    """Each document of `text` with its flow, and every error (CPU-bound: off the loop)."""
    parsed: list[tuple[str, Flow]] = []
    details: list[str] = []
    for index, source in enumerate(_documents(text)):
        try:
            flow = parse_flow(source)
        except FlowValidationError as error:
            details += [f"flow {index}: {e}" for e in error.errors]
            continue
        if namespace is not None and flow.namespace != namespace:
            details.append(f"flow {index}: namespace `{flow.namespace}` is not `{namespace}`, "
                           "the namespace being updated")
        parsed.append((source, flow))
    return parsed, details


@router.get("/flows/{namespace}/{flow_id}", summary="A flow (latest revision, or `revision`); "
            "its YAML when asked with `Accept: application/x-yaml`")
def get_flow(request: Request, namespace: str, flow_id: str, source: bool = False,
             revision: int | None = None, allowDeleted: bool = False,  # noqa: N803 (Kestra's name)
             tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    tenant_id = tenant_id_of(tenant)
    revisions = {r.revision: r for r in api.flows.revisions(namespace, flow_id, tenant_id)}
    if not revisions:
        raise not_found(f"Flow {namespace}.{flow_id} not found")
    number = max(revisions) if revision is None else revision
    found = revisions.get(number)
    if found is None:
        raise not_found(f"Flow {namespace}.{flow_id} has no revision {revision}")
    if found.deleted and not allowDeleted:
        raise not_found(f"Flow {namespace}.{flow_id} was deleted (revision {found.revision})")
    if "yaml" in request.headers.get("accept", ""):
        return Response(found.source, media_type="application/x-yaml")
    flow = api.flows.get(namespace, flow_id, found.revision, tenant_id)
    return flow_json(found, flow, source=source)


@router.put("/flows/{namespace}/{flow_id}", openapi_extra=YAML_BODY, summary="Update a flow")
async def update_flow(request: Request, namespace: str, flow_id: str,
                      tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    current = api.flows.latest_revision(namespace, flow_id, tenant_id_of(tenant))
    if current is None or current.deleted:
        raise not_found(f"Flow {namespace}.{flow_id} not found")
    source = await _text(request)
    try:
        flow = await api.cpu.run(parse_flow, source)
    except FlowValidationError as error:
        raise _invalid(error) from None
    if (flow.namespace, flow.id) != (namespace, flow_id):
        raise ApiError(422, "Invalid flow", [
            f"the flow is {flow.namespace}.{flow.id}, the path names {namespace}.{flow_id}: "
            "a flow's namespace and id cannot change"])
    return await _save(api, source, tenant_id_of(tenant))


@router.delete("/flows/{namespace}/{flow_id}", status_code=204,
               summary="Delete a flow: a new revision marked deleted")
async def delete_flow(request: Request, namespace: str, flow_id: str,
                      tenant: str = Depends(tenant_of)) -> Response:
    api = api_of(request)
    try:
        gone = await asyncio.to_thread(api.writer.delete, namespace, flow_id,
                                       tenant_id=tenant_id_of(tenant))
    except FlowWriteError as error:
        raise ApiError(503, str(error)) from None
    if gone is None:
        raise not_found(f"Flow {namespace}.{flow_id} not found")
    return Response(status_code=204)


@router.get("/flows/{namespace}/{flow_id}/revisions", summary="Every revision of a flow, oldest first")
def flow_revisions(request: Request, namespace: str, flow_id: str,
                   tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    tenant_id = tenant_id_of(tenant)
    revisions = api.flows.revisions(namespace, flow_id, tenant_id)
    if not revisions:
        raise not_found(f"Flow {namespace}.{flow_id} not found")
    return JSONResponse([flow_json(r, None if r.deleted else api.flows.get(namespace, flow_id, r.revision, tenant_id))
                         for r in revisions])


# ---------------------------------------------------------------- helpers

def _latest(api: Api, tenant: str) -> list[Flow]:
    tenant_id = tenant_id_of(tenant)
    return [f for f in api.flows.latest_flows() if f.tenant_id == tenant_id]


def _revision(api: Api, flow: Flow, tenant: str) -> FlowRevision:
    found = api.flows.latest_revision(flow.namespace, flow.id, tenant_id_of(tenant))
    assert found is not None
    return found



