"""Python script tasks forked from the worker's fork server (ostinato/tasks/scripts/
fork_server.py): the same behaviour as `python <file>` in a fresh process, real processes."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ostinato.flow.tasks import Task
from ostinato.storage import LocalStorage
from ostinato.tasks import RunContext, TaskOutcome, run_task
from ostinato.tasks.scripts import fork_server
from ostinato.tasks.scripts.process import ProcessUser

PYTHON_SCRIPT = "io.kestra.plugin.scripts.python.Script"
PYTHON_COMMANDS = "io.kestra.plugin.scripts.python.Commands"
EXECUTION_VARS: dict[str, Any] = {
    "flow": {"id": "scripts", "namespace": "company.team"},
    "execution": {"id": "exec1"},
    "taskrun": {"id": "run1"},
}
#: prints the pid of the script's grandparent (a fork server, or the worker), so a test can
#: tell which path ran it
PARENT = ("import os\nfork_server_pid = int(open(f'/proc/{os.getppid()}/stat').read()"
          ".rsplit(')', 1)[1].split()[1])\nprint('parent', fork_server_pid)\n")
SCRIPT_USER = "ostinato-script"


@pytest.fixture(autouse=True)
def _fork_server_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the forked path, even in a run with the switch off."""
    monkeypatch.delenv(fork_server.SWITCH, raising=False)


def run(data: dict[str, Any], storage: LocalStorage | None = None,
        user: ProcessUser | None = None) -> TaskOutcome:
    task = Task.model_validate({"id": "t", "type": PYTHON_SCRIPT, **data})
    return run_task(task, RunContext(variables=dict(EXECUTION_VARS), storage=storage,
                                     process_user=user))


def lines(outcome: TaskOutcome, level: str = "INFO") -> list[str]:
    return [line.message for line in outcome.logs if line.level == level]


def server_of(outcome: TaskOutcome) -> int:
    """The pid of the script's grandparent (the script printed PARENT)."""
    return next(int(m.split()[1]) for m in lines(outcome) if m.startswith("parent "))


def forked(outcome: TaskOutcome) -> bool:
    """Whether the script (which printed PARENT) was forked from a fork server."""
    return server_of(outcome) in fork_server.server_pids()


def wait_until(condition: Any, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


# ------------------------------------------------------------------ outputs, logs, exit codes


def test_outputs_and_output_lines_in_order_from_a_forked_script() -> None:
    outcome = run({"script": PARENT + (
        "import sys\nprint('one')\nprint('::{\"outputs\": {\"x\": 1}}::')\n"
        "print('to stderr', file=sys.stderr)\nprint('two')\n")})
    assert outcome.state == "SUCCESS", outcome.logs
    assert forked(outcome)
    assert lines(outcome)[1:] == ["one", "two"]
    assert lines(outcome, "WARN") == ["to stderr"]
    assert outcome.outputs["vars"] == {"x": 1}
    assert (outcome.outputs["stdOutLineCount"], outcome.outputs["stdErrLineCount"]) == (4, 1)


def test_exit_code_3_fails_the_task_with_its_code() -> None:
    outcome = run({"script": PARENT + "import sys\nsys.exit(3)"})
    assert forked(outcome)
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Command failed with exit code 3"]
    assert outcome.outputs["exitCode"] == 3


def test_sys_exit_0_and_a_message_exit() -> None:
    assert run({"script": "import sys\nprint('bye')\nsys.exit(0)\nprint('never')"}).state == "SUCCESS"
    outcome = run({"script": "raise SystemExit('went wrong')"})
    assert outcome.state == "FAILED"
    assert lines(outcome, "WARN") == ["went wrong"]
    assert outcome.outputs["exitCode"] == 1


def test_an_uncaught_exception_logs_the_scripts_traceback_only() -> None:
    outcome = run({"script": PARENT + "def inner():\n    raise ValueError('boom')\ninner()\n"})
    assert forked(outcome)
    assert outcome.state == "FAILED"
    assert outcome.outputs["exitCode"] == 1
    trace = lines(outcome, "WARN")
    assert trace[0] == "Traceback (most recent call last):"
    assert trace[-1] == "ValueError: boom"
    frames = [line for line in trace if line.startswith('  File "')]
    assert [f.rsplit(", in ", 1)[1] for f in frames] == ["<module>", "inner"]
    assert not any("_zygote" in line or "runpy" in line for line in trace)


def test_atexit_handlers_and_buffered_output_at_exit() -> None:
    outcome = run({"script": "import atexit, sys\natexit.register(lambda: print('at exit'))\n"
                             "sys.stdout.write('no newline')"})
    assert outcome.state == "SUCCESS", outcome.logs
    assert lines(outcome) == ["no newlineat exit"]


# ------------------------------------------------------------------ a fresh process each time


def test_nothing_leaks_from_one_script_to_the_next() -> None:
    first = run({"script": PARENT + (
        "import builtins, json, os, sys\nbuiltins.LEAK = 1\njson.LEAK = 1\n"
        "os.environ['LEAKED'] = '1'\nsys.path.append('/leak')\nopen('f', 'w')\n")})
    assert forked(first) and first.state == "SUCCESS", first.logs
    second = run({"script": PARENT + (
        "import builtins, json, os, sys\n"
        "print(hasattr(builtins, 'LEAK'), hasattr(json, 'LEAK'), 'LEAKED' in os.environ,"
        " '/leak' in sys.path)\n")})
    assert forked(second)
    assert lines(second)[1:] == ["False False False False"]


def test_the_process_looks_like_a_fresh_python(monkeypatch: pytest.MonkeyPatch) -> None:
    script = ("import json, os, sys\nprint(json.dumps({'modules': sorted(sys.modules),"
              " 'fds': sorted(os.listdir('/proc/self/fd')), 'stdin': sys.stdin.read(),"
              " 'main': sorted(k for k in globals()), 'file': __file__, 'argv': sys.argv,"
              " 'path0': sys.path[0], 'cwd': os.getcwd(), 'sid': os.getsid(0) == os.getpid(),"
              " 'flags': list(sys.flags), 'stdout': [sys.stdout.encoding,"
              " sys.stdout.line_buffering, sys.stdout.seekable()]}))")
    with monkeypatch.context() as patch:
        patch.setenv(fork_server.SWITCH, "0")
        fresh = json.loads(lines(run({"script": script}))[0])
    ours = json.loads(lines(run({"script": script}))[0])
    assert ours["cwd"] == os.path.dirname(ours["file"]) == ours["path0"]
    assert ours["argv"] == [ours["file"]]
    for key in ("modules", "fds", "stdin", "main", "sid", "flags", "stdout"):
        assert ours[key] == fresh[key], key


def test_a_syntax_error_is_reported_as_python_does() -> None:
    outcome = run({"script": "print('x'\n"})
    assert outcome.state == "FAILED"
    assert outcome.outputs["exitCode"] == 1
    assert lines(outcome, "WARN")[0].startswith('  File "')
    assert lines(outcome, "WARN")[-1].startswith("SyntaxError: ")


def test_scripts_started_at_once_each_get_their_own_process() -> None:
    def one(n: int) -> TaskOutcome:
        return run({"script": PARENT + f"import sys\nprint(sys.orig_argv[0], {n})\n"
                                       f"print('::{{\"outputs\": {{\"n\": {n}}}}}::')"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(one, range(8)))
    assert [o.outputs["vars"] for o in outcomes] == [{"n": n} for n in range(8)]
    assert all(forked(o) for o in outcomes)
    assert [lines(o)[1] for o in outcomes] == [f"python {n}" for n in range(8)]


def test_a_script_of_the_same_name_as_a_module_shadows_it() -> None:
    outcome = run({"inputFiles": {"json.py": "MINE = 'the script dir first'"},
                   "script": "import json\nprint(json.MINE)"})
    assert outcome.state == "SUCCESS", outcome.logs
    assert lines(outcome) == ["the script dir first"]


def test_env_is_the_tasks_not_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_SECRET", "hidden")
    outcome = run({"env": {"GREETING": "hello"}, "script": PARENT + (
        "import os\nprint(os.environ['GREETING'], os.environ['PYTHONUNBUFFERED'],"
        " 'WORKER_SECRET' in os.environ)\n"
        "print(open('/proc/self/environ', 'rb').read().count(b'WORKER_SECRET'))")})
    assert forked(outcome), outcome.logs
    assert lines(outcome)[1:] == ["hello true False", "0"]


def test_input_files_readable_and_output_files_collected(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    outcome = run({
        "inputFiles": {"data.txt": "42", "helper.py": "def double(x):\n    return 2 * x\n"},
        "outputFiles": ["result.txt"],
        "script": PARENT + "import helper\nn = int(open('data.txt').read())\n"
                           "open('result.txt', 'w').write(str(helper.double(n)))",
    }, storage)
    assert outcome.state == "SUCCESS", outcome.logs
    assert forked(outcome)
    assert storage.get(outcome.outputs["outputFiles"]["result.txt"]) == b"84"


def test_python_commands_of_one_python_line_are_forked_with_their_arguments() -> None:
    task = Task.model_validate({
        "id": "t", "type": PYTHON_COMMANDS, "inputFiles": {"main.py": PARENT + (
            "import sys\nprint(sys.argv)")},
        "commands": ["python main.py --n 3"]})
    outcome = run_task(task, RunContext(variables={}))
    assert outcome.state == "SUCCESS", outcome.logs
    assert forked(outcome)
    assert lines(outcome)[1:] == ["['main.py', '--n', '3']"]


# ------------------------------------------------------------------ stopping, crashes


def test_a_timeout_kills_an_infinite_loop_and_its_children() -> None:
    outcome = run({"timeout": "PT1S", "script": PARENT + (
        "import subprocess\np = subprocess.Popen(['sleep', '1000'])\n"
        "print('child', p.pid, flush=True)\nwhile True:\n    pass\n")})
    assert forked(outcome)
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Task timed out after PT1S"]
    child = next(int(m.split()[1]) for m in lines(outcome) if m.startswith("child "))
    wait_until(lambda: not alive(child), "the script's child to be gone")


def test_sigterm_ignored_escalates_to_sigkill(monkeypatch: pytest.MonkeyPatch) -> None:
    script = ("import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "print('pid', os.getpid(), flush=True)\nwhile True:\n    time.sleep(0.01)\n")
    outcome = run({"timeout": "PT0.5S", "script": script})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Task timed out after PT0.5S"]
    pid = int(lines(outcome)[0].split()[1])
    wait_until(lambda: not alive(pid), "the script to be killed")
    monkeypatch.setenv(fork_server.SWITCH, "0")  # the same exit code as through the shell
    assert run({"timeout": "PT0.5S", "script": script}).outputs["exitCode"] == \
        outcome.outputs["exitCode"]


def test_the_next_script_runs_after_the_server_was_killed() -> None:
    first = run({"script": PARENT})
    assert forked(first)
    server = server_of(first)
    os.kill(server, signal.SIGKILL)
    wait_until(lambda: not alive(server), "the fork server to die")
    outcome = run({"script": PARENT + "print('still works')"})
    assert outcome.state == "SUCCESS", outcome.logs
    assert forked(outcome)
    assert server not in fork_server.server_pids()
    assert lines(outcome)[-1] == "still works"


def test_a_server_dying_under_a_running_script_fails_the_task_clearly() -> None:
    outcome = run({"script": PARENT + "import signal, time\n"
                             "os.kill(fork_server_pid, signal.SIGKILL)\ntime.sleep(30)"})
    assert outcome.state == "FAILED"
    assert "fork server ended while the script ran" in lines(outcome, "ERROR")[0]
    assert run({"script": PARENT}).state == "SUCCESS"


def test_a_server_that_cannot_start_leaves_scripts_to_the_shell(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "zygote.py"
    broken.write_text("raise SystemExit(3)")
    monkeypatch.setattr(fork_server, "ZYGOTE", broken)
    monkeypatch.setattr(fork_server, "_broken_until", 0.0)
    env = {"PYTHONBROKENSERVER": "1"}  # a start-up of its own: a new server
    for _ in range(2):
        outcome = run({"script": PARENT + "print('ran')", "env": env})
        assert outcome.state == "SUCCESS", outcome.logs
        assert lines(outcome)[-1] == "ran"
        assert not forked(outcome)
    assert fork_server._broken_until > time.monotonic()  # not retried at every script


# ------------------------------------------------------------------ the shell path


def test_before_commands_take_the_shell_path() -> None:
    outcome = run({"beforeCommands": ["echo before"], "script": PARENT})
    assert outcome.state == "SUCCESS", outcome.logs
    assert lines(outcome)[0] == "before"
    assert not forked(outcome)


def test_the_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fork_server.SWITCH, "0")
    outcome = run({"script": PARENT})
    assert outcome.state == "SUCCESS", outcome.logs
    assert not forked(outcome)


@pytest.mark.parametrize("command", [
    "python -u main.py", "python main.py > out.txt", "python $FILE", "python3 'main.py' x",
    "python main.py; echo done",
])
def test_commands_the_shell_must_interpret_are_not_forked(command: str) -> None:
    assert fork_server.python_argv(["/bin/sh", "-c"], [], [command]) is None


def test_what_is_forked() -> None:
    assert fork_server.python_argv(["/bin/sh", "-c"], ["set -e"], ["python3 main.py a b"]) == [
        "python3", "main.py", "a", "b"]
    assert fork_server.python_argv(["/bin/bash", "-c"], [], ["python '/tmp/a b.py'"]) == [
        "python", "/tmp/a b.py"]
    assert fork_server.python_argv(["python", "-c"], [], ["python main.py"]) is None
    assert fork_server.python_argv(["/bin/sh", "-c"], ["pip install x"], ["python m.py"]) is None


# ------------------------------------------------------------------ another user


def script_user() -> ProcessUser:
    if os.geteuid() != 0:
        pytest.skip("not root: scripts run as another user only from a root worker")
    try:
        entry = pwd.getpwnam(SCRIPT_USER)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("running as root but `useradd` is missing: cannot create the script user")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", SCRIPT_USER], check=True)
        entry = pwd.getpwnam(SCRIPT_USER)
    return ProcessUser(SCRIPT_USER, entry.pw_uid, entry.pw_gid)


def test_a_script_user_gets_its_ids_and_cannot_read_the_servers_environ() -> None:
    user = script_user()
    outcome = run({"script": PARENT + (
        "import os\nprint(os.getuid(), os.getgid(), os.getgroups())\n"
        "server = open(f'/proc/{os.getppid()}/stat').read().rsplit(')', 1)[1].split()[1]\n"
        "try:\n    open(f'/proc/{server}/environ').read()\n    print('read')\n"
        "except PermissionError:\n    print('environ unreadable')\n"
        "open('mine.txt', 'w').write('ok')\n")}, user=user)
    assert outcome.state == "SUCCESS", outcome.logs
    assert forked(outcome)
    assert lines(outcome)[1:] == [f"{user.uid} {user.gid} []", "environ unreadable"]


def test_the_same_server_serves_scripts_with_the_same_start_up() -> None:
    server = server_of(run({"script": PARENT}))
    assert server_of(run({"script": PARENT, "env": {"UNRELATED": "x"}})) == server
    outcome = run({"script": PARENT + "import sys\nprint(sys.flags.dont_write_bytecode)",
                   "env": {"PYTHONDONTWRITEBYTECODE": "1"}})
    assert forked(outcome)
    assert server_of(outcome) != server  # another server, started with it: a start-up flag
    assert lines(outcome)[1:] == ["1"]
