"""``python -m htp_edge ...`` is the ``htp-edge`` command."""
from htp_edge.cli.main import entry

entry()
