import sys

from trainlint.frontends.cli import main

sys.exit(main())
