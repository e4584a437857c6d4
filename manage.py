#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")
    # `ingest_results FILE`: its parse starts now, in a child, while Django loads below.
    from metrics.parsers import ahead

    ahead.start(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
