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
from vitiseg.errors import DataError
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


FIELDS = {
    "model": str, "device": str, "precision": str, "finished": str, "machine": dict,
    "photos": dict, "redone": dict, "failed": list, "done": int, "skipped": int,
    "seconds": (int, float),
}  # fmt: skip
"""The type of each fact the commands record (others are kept as they are)."""
PAIRS = ("failed", "photos")
"""Facts holding ``[path, text]`` pairs: failed photos and their reasons, photo and mask."""


def read_facts(folder: str | Path) -> dict:
    """The facts saved in ``folder`` (empty when there are none).

    Raises:
        DataError: a ``report-facts.json`` that is not what the commands write (not JSON,
            an entry that is not an object, a fact of another type), naming the file.
    """
    path = Path(folder) / FACTS_FILE
    if not path.is_file():
        return {}
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc}); {_REDO}") from None
    if not isinstance(facts, dict):
        raise DataError(f"{path}: holds {type(facts).__name__}, not an object; {_REDO}")
    for command, entry in facts.items():
        if problem := _problem(entry):
            raise DataError(f"{path}: {command}{problem}; {_REDO}")
    return facts


_REDO = "delete it (the page then leaves out what only the command knew) or run the command again"


def _problem(entry) -> str | None:
    """What makes one command's entry unlike what the commands write, or None."""
    if not isinstance(entry, dict):
        return f" is {entry!r}, not an object"
    names = {str: "string", dict: "object", list: "list", int: "whole number", float: "number"}
    for name, kind in FIELDS.items():
        value = entry.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            return f".{name} is {value!r}, not a {names[kind[-1] if isinstance(kind, tuple) else kind]}"  # fmt: skip
        pairs = value.values() if isinstance(value, dict) else value
        if name in PAIRS and not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            return f".{name} holds something other than [path, text] pairs"
    return None


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
