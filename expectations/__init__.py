"""Great Expectations suites for the national return: generated from spec/form.yaml,
committed as JSON under expectations/suites/, and run on every submission.

`cop spec generate` (hub.spec_outputs) regenerates the JSON; a test keeps it equal to the spec.
"""
