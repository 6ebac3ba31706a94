"""The native CPU engine's kernel: word2vec.c's SGNS update in C (sgns_kernel.c), built at
first use (build.py) and called through ctypes (kernel.py)."""
