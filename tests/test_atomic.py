from pathlib import Path

from vitiseg.util.atomic import atomic_path, remove_temporaries

UNFINISHED = []  # writes never finished (a finished or collected one removes its file)


def killed_while_writing(target: Path) -> Path:
    """The temporary file a process killed inside ``atomic_path`` leaves behind."""
    writing = atomic_path(target)
    UNFINISHED.append(writing)
    tmp = writing.__enter__()  # never left: as if the process died here
    tmp.write_bytes(b"half a file")
    return tmp


def test_only_the_temporaries_of_the_given_files_are_removed(tmp_path: Path):
    mine = [tmp_path / "masks" / "a.png", tmp_path / "masks" / "cam2" / "b.png"]
    stale = [killed_while_writing(path) for path in mine]
    others = killed_while_writing(tmp_path / "masks" / "c.png")  # another process's photo
    (tmp_path / "masks" / "a.png").write_bytes(b"an earlier, whole file")
    kept = [tmp_path / "masks" / ".hidden.tmp", tmp_path / "masks" / "a.png"]
    kept[0].write_bytes(b"not ours")
    assert remove_temporaries([*mine, tmp_path / "nowhere" / "d.png"]) == 2
    assert not any(path.exists() for path in stale)
    assert others.exists() and all(path.exists() for path in kept)
