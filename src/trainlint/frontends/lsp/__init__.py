"""`trainlint lsp`: the language server. Needs the `lsp` extra (pygls, lsprotocol)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from trainlint.core.project import DISTRIBUTION

INSTALL_HINT = f'trainlint lsp needs the language-server extra: pip install "{DISTRIBUTION}[lsp]"'


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="trainlint lsp",
        description="Language server: trainlint findings in any LSP editor (stdio unless --tcp).",
    )
    parser.add_argument("--tcp", type=int, metavar="PORT", help="listen on a TCP port instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="address for --tcp (default: 127.0.0.1)")
    parser.add_argument("--debounce", type=float, metavar="SECONDS", default=None,
                        help="while typing, wait this long after an edit before linting; the first edit after a pause is linted at once (default: 0.1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the protocol on stderr")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        from trainlint.frontends.lsp.server import DEBOUNCE_SECONDS, create_server
    except ImportError as error:
        sys.stderr.write(f"{INSTALL_HINT} (missing: {error.name})\n")
        return 2
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.WARNING)
    server = create_server(DEBOUNCE_SECONDS if args.debounce is None else max(args.debounce, 0.0))
    from trainlint.core.limits import use_batch_gc

    use_batch_gc()  # the server process is ours: collect less often while it re-lints on edits
    if args.tcp is not None:
        server.start_tcp(args.host, args.tcp)
        return 0
    return server.start_io()
