"""Names of the checkpoints bundled with the package (no torch needed to list them)."""
BUNDLED = ("d3dp-small", "htp-small")
DEFAULT_CHECKPOINT = "htp-small"
