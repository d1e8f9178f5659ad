"""The files generated from spec/ (GX suites, the wide fact's contract columns) are what the spec implies
today, and the generator rewrites only its own region of the hand-written contract."""
from __future__ import annotations

import pytest

from cop.spec import load_form
from hub.spec_outputs import (BEGIN_MARK, END_MARK, SpecOutputError, WIDE_FACT_CONTRACT, stale_outputs,
                              wide_fact_columns, with_generated_columns)


def test_every_generated_file_agrees_with_the_spec():
    assert stale_outputs() == [], "run `cop spec generate` and commit the result"


def test_the_contract_keeps_its_hand_written_part_and_lists_every_field_in_form_order():
    contract = WIDE_FACT_CONTRACT.read_text(encoding="utf-8")
    columns = wide_fact_columns(load_form())
    assert [line.split("name: ")[1] for line in columns.splitlines() if "- name:" in line] == \
        list(load_form().field_names)
    rewritten = with_generated_columns(contract.replace("community_meetings_held", "old_name"), columns)
    assert rewritten == contract
    assert contract.index("- name: submission_id") < contract.index(BEGIN_MARK) < contract.index(END_MARK)


def test_a_contract_without_its_markers_is_refused():
    with pytest.raises(SpecOutputError, match="must keep the lines"):
        with_generated_columns("models: []\n", "")
