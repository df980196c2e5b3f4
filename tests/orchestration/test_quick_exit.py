"""`cwh` ends without tearing its heap down: same status, same output, and a running thread's work kept."""

import os
import subprocess
import sys

import pytest


def _run(body: str, tmp_path) -> subprocess.CompletedProcess:
    script = tmp_path / "main.py"
    script.write_text("import sys, threading, time\nfrom orchestration.quick_exit import run_then_exit\n" + body)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as a user's pipe is
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize(("ending", "status", "stderr"), [
    ("pass", 0, ""), ("sys.exit(0)", 0, ""), ("sys.exit(None)", 0, ""), ("sys.exit(3)", 3, ""),
    ("sys.exit('cwh run: nothing to do')", 1, "cwh run: nothing to do\n"),
])
def test_the_status_and_every_line_written_come_out(tmp_path, ending, status, stderr):
    done = _run("def main():\n"
                "    for i in range(20000):\n"  # more than a pipe's buffer: flushed before the end
                "        print('line', i)\n"
                f"    {ending}\n"
                "run_then_exit(main)\n", tmp_path)
    assert done.returncode == status
    assert done.stdout.splitlines()[-1] == "line 19999" and len(done.stdout.splitlines()) == 20000
    assert done.stderr == stderr


def test_a_non_daemon_thread_still_running_finishes_its_work(tmp_path):
    marker = tmp_path / "written"
    done = _run("def write():\n"
                "    time.sleep(0.5)\n"
                f"    open({str(marker)!r}, 'w').write('done')\n"
                "def main():\n"
                "    threading.Thread(target=write).start()\n"
                "run_then_exit(main)\n", tmp_path)
    assert done.returncode == 0 and marker.read_text() == "done"


def test_a_multiprocessing_queue_is_released_without_a_leak_warning(tmp_path):
    """A queue's semaphores are unlinked before the quick exit: multiprocessing's resource tracker would
    otherwise warn of leaked semaphores at the end of every `cwh run` (the landing pool's queues)."""
    done = _run("import multiprocessing\n"
                "def main():\n"
                "    queue = multiprocessing.get_context('spawn').Queue()\n"
                "    queue.put('landed'); print(queue.get())\n"
                "run_then_exit(main)\n", tmp_path)
    assert done.returncode == 0 and done.stdout == "landed\n"
    assert "leaked semaphore" not in done.stderr, done.stderr


def test_the_cwh_script_ends_through_it():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "cwh"]
    assert script.value == "orchestration.cli:main"
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "no-such-command"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no-such-command" in done.stderr
