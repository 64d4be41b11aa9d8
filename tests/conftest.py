import os

# The default backend of keras_lt; set before keras is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_xdist_auto_num_workers(config):
    """Workers for `-n auto` (pyproject's addopts): none for one test file.

    The suite runs a worker per core; a command that names one file (or tests
    in one file) runs in this process, as a worker would only add its start-up
    (~13 s of importing Keras, measured) to a file that runs on one worker anyway.
    `None` leaves the count to pytest-xdist (the number of cores).
    """
    files = {str(arg).split("::")[0] for arg in config.args}
    if len(files) == 1 and os.path.isfile(files.pop()):
        return 0
    return None
