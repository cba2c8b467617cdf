"""Finding similar incidents: the embedders (ONNX Runtime by default, sentence-transformers, a hash stand-in for
plumbing tests), exact dense search, BM25, and the hybrid knowledge base that fuses them."""
