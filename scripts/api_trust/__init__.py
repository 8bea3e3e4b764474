"""API Trust & Performance Analytics: generator, loader, dashboards and report."""

import os

# numpy asks Linux for transparent huge pages on every large array. Where the kernel then
# compacts memory on the spot to find one (`defrag` = madvise, as on the machines we measure
# on), a fresh array can take 20 times as long to fill: `make generate ROWS=10000000` spent
# 3-5 of its 9-11 s in the kernel, and 0.4 s without the advice (benchmarks/HISTORY.md).
# Set before numpy is imported; NUMPY_MADVISE_HUGEPAGE=1 gives it back.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
