import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
# The suite never reads or writes a user's disk cache (s2sgrad/cache.py): tests of the cache set their own.
os.environ["S2SGRAD_CACHE_DIR"] = ""


def pytest_addoption(parser):
    parser.addoption("--update-snapshots", action="store_true", default=False,
                     help="rewrite tests/snapshots/ from the current generated code")
