"""`micro new --lang python` and `micro run` with a Python service, driven as a user would:
the project is written, run (found through its micro.mu, or discovered without one), called
with `micro call`, and restarted when main.py changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import Processes, binary, eventually, needs_netns

pytestmark = needs_netns


def micro(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MICRO_PYTHON": sys.executable}
    return subprocess.run([binary("micro"), *args], capture_output=True, text=True, timeout=120, env=env)


def answer(service: str, endpoint: str) -> object:
    called = micro("call", service, endpoint, '{"name":"Alice"}')
    return json.loads(called.stdout) if called.returncode == 0 else None


def test_micro_new_writes_a_python_service_that_micro_run_runs_and_reloads(
    processes: Processes, tmp_path: Path
) -> None:
    created = micro("new", "pyorders", "--lang", "python", "--dir", str(tmp_path))
    assert created.returncode == 0, created.stderr
    project = tmp_path / "pyorders"
    assert (project / "main.py").is_file() and (project / "micro.mu").is_file()
    assert "micro call pyorders Pyorders.Call" in created.stdout

    processes.start(binary("micro"), "run", str(project), "--no-gateway", env={"MICRO_PYTHON": sys.executable})
    assert eventually(lambda: answer("pyorders", "Pyorders.Call"), "pyorders answering") == {"msg": "Hello Alice"}
    described = micro("describe", "pyorders")
    assert "Greets a person by name" in described.stdout

    main = project / "main.py"
    main.write_text(main.read_text().replace('f"Hello {req.name}"', 'f"Howdy {req.name}"'))
    eventually(
        lambda: answer("pyorders", "Pyorders.Call") == {"msg": "Howdy Alice"},
        "the changed main.py being served",
        seconds=60,
    )


def test_micro_run_discovers_a_python_service_without_micro_mu(processes: Processes, tmp_path: Path) -> None:
    service = tmp_path / "shop" / "pricing"
    service.mkdir(parents=True)
    (service / "main.py").write_text(
        "import go_micro\n"
        "svc = go_micro.Service('pricing')\n"
        "svc.handle('Pricing.Quote')(lambda req: {'price': 42})\n"
        "svc.run()\n"
    )
    processes.start(binary("micro"), "run", str(tmp_path / "shop"), "--no-gateway", env={"MICRO_PYTHON": sys.executable})
    assert eventually(lambda: answer("pricing", "Pricing.Quote"), "pricing answering") == {"price": 42}


def test_micro_new_says_how_to_install_go_micro_when_python_lacks_it(tmp_path: Path) -> None:
    bare = tmp_path / "bare-python"
    bare.symlink_to("/bin/false")
    created = subprocess.run(
        [binary("micro"), "new", "pylost", "--lang", "python", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MICRO_PYTHON": str(bare)},
    )
    assert created.returncode != 0
    assert "cannot import go_micro" in created.stderr and "-m pip install" in created.stderr
