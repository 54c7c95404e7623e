"""The C allocator's thresholds, fixed for jobs that allocate the same large blocks over and over.

glibc hands a freed block back to the system once it is above a threshold that moves with what
the process allocates, so a training step's tensors (megabytes each) fault their pages in again
batch after batch: 1.2 to 14 million minor page faults in 3 MNIST-size epochs, 41 to 58 s,
against 155,000 to 161,000 and 37 to 41 s with both thresholds fixed (one process each, turns,
2026-12-07; either one alone made it worse: 26 and 66 million). Scoring in batches of a few
hundred rows does the same: the evaluate job, the batch transform and the endpoint load the model
through the handler's `model_fn`, which calls this too. PyTorch's CPU performance guide advises an
allocator that keeps freed memory (jemalloc, tcmalloc); with glibc, which every SageMaker image
has, these two settings do it. The cost: up to 256 MiB of freed memory a process keeps.

Training imports this module from the serving package it ships anyway, so the setting has one
home. Standard library only, Python 3.9+.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # glibc's largest: smaller blocks come from the heap and stay there
TRIM_THRESHOLD = 256 << 20  # free memory the heap keeps before handing any back


def keep_freed_memory() -> None:
    """Fix glibc's two thresholds (above); nothing where the C library has no such setting."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # not glibc (macOS): its allocator is not this one
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
