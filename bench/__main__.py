"""Entry point of ``python3 -m bench``."""

from bench.runner import main

raise SystemExit(main())
