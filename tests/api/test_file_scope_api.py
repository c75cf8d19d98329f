"""A FILE input given as a `kestra://` URI of another namespace is refused at the API (422
naming the input, the URI and the rule), not accepted to fail later."""

from __future__ import annotations

from tests.api.conftest import ApiServer
from tests.api.helpers import deploy

FLOW = """id: takes_file
namespace: {ns}
inputs:
  - id: doc
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.doc }}}}"
"""


def test_a_file_input_uri_of_another_namespace_is_a_422(api: ApiServer) -> None:
    deploy(api, FLOW.format(ns="api.scope.b"))
    foreign = "kestra:///api/scope/a/writer/executions/E1/tasks/w/r/secret.txt"
    answer = api.http.post(api.url("/executions/api.scope.b/takes_file"), files={"doc": (None, foreign)})
    assert answer.status_code == 422, answer.text
    assert "doc" in answer.text and foreign in answer.text and "own namespace" in answer.text
    own = "kestra:///api/scope/b/other/executions/E2/inputs/doc/notes.txt"
    accepted = api.http.post(api.url("/executions/api.scope.b/takes_file"), files={"doc": (None, own)})
    assert accepted.status_code == 200, accepted.text
