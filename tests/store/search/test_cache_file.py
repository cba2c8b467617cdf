"""The search caches' file: read back as written, never read torn, whatever happens to the writer."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.search import cache_file
from agent_postmortem.store.search.cache_file import CacheUnreadable

WRITER = """
import sys
from pathlib import Path
import numpy as np
from agent_postmortem.store.search import cache_file
path, version = Path(sys.argv[1]), 0
print("ready", flush=True)
while True:
    version += 1
    cache_file.write(path, {"version": version}, {"rows": np.full((1 << 22,), version % 127, dtype=np.int8)})
"""


def test_arrays_and_meta_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "c.cache"
    blocks = [np.arange(12, dtype=np.int8).reshape(3, 4), np.ones((2, 4), dtype=np.int8)]
    cache_file.write(path, {"newest": 7}, {"pks": np.arange(5, dtype=np.int64), "codes": blocks, "none": np.zeros(0)})
    meta, arrays = cache_file.read(path)
    assert meta == {"newest": 7}
    assert arrays["pks"].tolist() == [0, 1, 2, 3, 4] and arrays["none"].shape == (0,)
    assert np.array_equal(arrays["codes"], np.vstack(blocks)) and not arrays["codes"].flags.writeable
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # incident words: private like the database


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "other format"])
def test_a_damaged_file_is_unreadable_not_wrong(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "c.cache"
    cache_file.write(path, {}, {"rows": np.arange(1000, dtype=np.int64)})
    data = path.read_bytes()
    changed = {
        "truncated": data[:-100],
        "flipped": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
        "empty": b"",
        "other format": b"PK\x03\x04" + data[4:],
    }[damage]
    path.write_bytes(changed)
    with pytest.raises(CacheUnreadable):
        cache_file.read(path)


def test_a_writer_killed_at_any_moment_leaves_a_whole_file_that_readers_never_see_torn(tmp_path: Path) -> None:
    path = tmp_path / "c.cache"
    cache_file.write(path, {"version": 0}, {"rows": np.zeros(1 << 22, dtype=np.int8)})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for attempt in range(3):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env, stdout=subprocess.PIPE)
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 0.5 + 0.3 * attempt
        while time.monotonic() < deadline:  # a reader while the writer replaces the file again and again
            meta, arrays = cache_file.read(path)
            assert int(arrays["rows"][0]) == int(arrays["rows"][-1]) == meta["version"] % 127
        writer.send_signal(signal.SIGKILL)  # mid-write, most likely
        writer.wait()
        writer.stdout.close()
        meta, arrays = cache_file.read(path)
        assert int(arrays["rows"][-1]) == meta["version"] % 127
    cache_file.write(path, {"version": -1}, {"rows": np.zeros(4, dtype=np.int8)})
    assert [p.name for p in tmp_path.iterdir()] == ["c.cache"]  # the killed writers' temporary files are gone
