"""The embeddable runtime: backends, the Lifter and the StreamingLifter (no torch needed)."""
