import sys

from harmscope.cli.main import main

sys.exit(main())
