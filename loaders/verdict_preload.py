"""Imported once by the verdict forkserver (loaders.sandbox), and by nothing else.

Every child forked from that server starts with the validation stack imported and Great
Expectations' context and suites already built, so a verdict pays only for its own file. Importing
this module IS that warm-up: the forkserver can only be told which modules to import.
"""
from expectations.runner import warm_up
from loaders import intake  # noqa: F401 - the children's entry point, imported here once for all of them
from loaders.sandbox import prepare_children

warm_up()
prepare_children()
