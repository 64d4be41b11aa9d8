"""`atomic_write_text`: a file replaced whole or not at all.

The text goes to a temporary file beside the target, is flushed to disk and
renamed onto the target (`os.replace`), so a process killed mid-write leaves
the previous file, never an empty or half-written one. The run folder's JSON
files, the tuning tables and KerasTuner's state files
(`keras_lt.tuning.atomic_save`) are written through it.
"""

import os


def atomic_write_text(path, text):
    """Writes `text` (as it is: no newline translation) to `path` atomically; returns `path`."""
    path = os.fspath(path)
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:  # an exception (not a kill): leave no temporary file
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path
