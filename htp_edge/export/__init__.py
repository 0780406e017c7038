"""Export stage: torch -> static-shape ONNX, graph checks, simplification and comparison."""
