import sys

from bench.matrix_bench import main

sys.exit(main())
