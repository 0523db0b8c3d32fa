"""The ``jj`` console script: the same command line as the Rust ``jj`` binary."""

from __future__ import annotations

import os
import sys

from . import _joyfuljay


def main() -> None:
    """Run ``jj`` with this process's arguments and exit with its status."""
    # Behave like the native binary: the first Ctrl-C stops the run without
    # leaving output or temporary files (exit status 130), a second one
    # leaves at once.
    _joyfuljay.install_cli_signal_handler()
    sys.stdout.flush()
    sys.stderr.flush()
    argv = ["jj"] + [os.fsdecode(a) for a in sys.argv[1:]]
    sys.exit(_joyfuljay.cli_main(argv))


if __name__ == "__main__":
    main()
