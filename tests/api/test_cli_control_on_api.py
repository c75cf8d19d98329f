"""`ostinato execution kill|resume|restart|replay --server URL`: control through the API
(the session stack's), as a user without access to Kafka would."""

from __future__ import annotations

from click.testing import CliRunner, Result

from ostinato.cli import main
from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, ended, state_is, wait_execution

FLOW = """id: controlled-by-cli
namespace: api.cli
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: count
        type: INT
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount == 0 }}"
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.approve.onResume.count + 1 }}"
"""


def cli(api: ApiServer, *args: str) -> Result:
    return CliRunner().invoke(main, ["execution", *args, "--server", api.base_url],
                              catch_exceptions=False)


def test_resume_restart_replay_kill_through_the_api(api: ApiServer) -> None:
    deploy(api, FLOW)
    execution_id = api.http.post(api.url("/executions/api.cli/controlled-by-cli")).json()["id"]
    wait_execution(api, execution_id, state_is("PAUSED"), what="the pause")

    refused = cli(api, "resume", execution_id, "--input", "count=many")
    assert refused.exit_code == 1 and "`count`" in refused.output, refused.output
    resumed = cli(api, "resume", execution_id, "--input", "count=41")
    assert resumed.exit_code == 0 and "resume requested" in resumed.output, resumed.output
    failed = wait_execution(api, execution_id, ended, what="the failure after the resume")
    assert failed["state"]["current"] == "FAILED"

    assert cli(api, "restart", execution_id).exit_code == 0
    done = wait_execution(api, execution_id, state_is("SUCCESS"),
                          what="the restart")
    assert [r["outputs"] for r in done["taskRunList"] if r["taskId"] == "echo"] == [{"value": "42"}]

    replayed = cli(api, "replay", execution_id)
    assert replayed.exit_code == 0, replayed.output
    new_id = replayed.output.strip()
    assert new_id != execution_id
    wait_execution(api, new_id, state_is("PAUSED"), what="the replay")
    killed = cli(api, "kill", new_id)
    assert killed.exit_code == 0 and "kill requested" in killed.output
    assert wait_execution(api, new_id, ended, what="the kill")["state"]["current"] == "KILLED"

    again = cli(api, "kill", new_id)
    assert again.exit_code == 1 and "already finished" in again.output
    missing = cli(api, "restart", "noSuchExecution")
    assert missing.exit_code == 1 and "execution noSuchExecution not found" in missing.output
