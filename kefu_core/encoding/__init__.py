"""Sentence and word-piece vectors: the shared embedder (torch or ONNX) and the light ONNX encoder."""
