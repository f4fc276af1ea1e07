"""PyIceberg's remote signing, used the one way it is reliable today.

PyIceberg's fsspec FileIO installs its REST signer on the S3 filesystem that fsspec shares by
every thread of the process, unregistering and re-registering it from each thread that first
uses the FileIO. A request serialised in that gap goes out unsigned, and the store refuses it as
anonymous (403 `AccessDenied`, `access_key=-` in the store's access line): apache/iceberg-python
#3896, open in PyIceberg 0.12. It is the client's race, not the catalog's; tests of remote
signing through PyIceberg run its I/O on one worker thread so that no thread registers while
another's request is being signed. (docs/compatibility.md tells users the same.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from pyiceberg.utils.concurrent import ExecutorFactory


@contextmanager
def one_io_thread() -> Iterator[None]:
    """PyIceberg's shared executor replaced by a one-thread one for the block, then restored."""
    saved = ExecutorFactory._instance, ExecutorFactory._instance_pid
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyiceberg-signed-io")
    ExecutorFactory._instance, ExecutorFactory._instance_pid = executor, os.getpid()
    try:
        yield
    finally:
        ExecutorFactory._instance, ExecutorFactory._instance_pid = saved
        executor.shutdown(wait=True)
