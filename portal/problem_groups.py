"""A receipt's problems as a clerk reads them: grouped by rule, with the count, how to fix it, the worst
examples first and the whole list behind them; units missing from the file as one line with the list.

Counts come from audit.problem_counts (every problem); the details are those the intake kept (at most
outputs.max_stored_problems_per_rule per rule, the worst first), and a group says what was cut."""
from __future__ import annotations

from dataclasses import dataclass, field

from cop.spec import load_form
from loaders.problems import MISSING_UNIT_RULE, RuleCount

EXAMPLES = 5            # shown open under each rule; the rest behind "show all"



@dataclass
class RuleGroup:
    rule: str
    title: str
    severity: str
    total: int
    fix: str
    problems: list = field(default_factory=list)   # receipts.ProblemRow, worst first

    @property
    def examples(self) -> list:
        return self.problems[:EXAMPLES]

    @property
    def rest(self) -> list:
        return self.problems[EXAMPLES:]

    @property
    def cut(self) -> int:
        return self.total - len(self.problems)

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.problems:
            if p.column:
                seen.setdefault(p.column, None)
        return list(seen)

    @property
    def units(self) -> list[str]:
        return [p.unit_code for p in self.problems if p.unit_code]

    @property
    def is_missing_units(self) -> bool:
        return self.rule == MISSING_UNIT_RULE


def group_problems(problems: list, counts: list[RuleCount], severity: str) -> list[RuleGroup]:
    """The groups of one severity, the most frequent rule first; each group's problems worst first, then
    in file order. Without counts (a check recorded before counts existed) the details are the counts."""
    rules = load_form().rules
    groups: dict[str, RuleGroup] = {}
    for c in counts:
        if c.severity == severity:
            groups[c.rule] = RuleGroup(c.rule, c.title, c.severity, c.total, rules[c.rule].fix if c.rule in rules else "")
    for p in problems:
        if p.severity != severity:
            continue
        group = groups.get(p.rule)
        if group is None:
            group = groups[p.rule] = RuleGroup(p.rule, p.title, p.severity, 0, p.fix)
        group.problems.append(p)
        if not counts:
            group.total += 1
    for group in groups.values():
        group.problems.sort(key=lambda p: (-(p.score or 0), p.row if p.row is not None else -1))
    return sorted(groups.values(), key=lambda g: (-g.total, g.rule))
