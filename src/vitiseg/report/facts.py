"""Facts only the running command knows (machine, speed, failures), kept for the report.

They go to ``FOLDER/report-facts.json``, one entry per command, so that ``vitiseg report
FOLDER`` later writes the same page.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from datetime import datetime
from pathlib import Path

from vitiseg import __version__
from vitiseg.util.atomic import write_text

FACTS_FILE = "report-facts.json"


def describe_machine() -> dict:
    """Host, system, CPU, accelerators and library versions of this process's machine."""
    import torch  # torch: not at --help time

    machine = {
        "host": socket.gethostname(),
        "system": f"{platform.system()} {platform.release()}",
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "vitiseg": __version__,
    }
    if torch.cuda.is_available():
        machine["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return machine


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def read_facts(folder: str | Path) -> dict:
    """The facts saved in ``folder`` (empty when none, or when the file is unreadable)."""
    path = Path(folder) / FACTS_FILE
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return facts if isinstance(facts, dict) else {}


def record_facts(folder: str | Path, command: str, facts: dict | None = None) -> dict:
    """Save what ``command`` knows (plus this machine and the time) in ``folder``; return all.

    Example:
        >>> record_facts("out", "predict", {"done": 40, "seconds": 18.4})  # doctest: +SKIP
    """
    everything = read_facts(folder)
    everything[command] = {
        **(facts or {}),
        "machine": describe_machine(),
        "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    write_text(Path(folder) / FACTS_FILE, json.dumps(everything, indent=2, default=str))
    return everything
