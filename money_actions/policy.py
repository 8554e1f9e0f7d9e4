"""Policy verdicts: each rule says whether an action needs a second person, and why, in
words a specialist can read. Each kind of action lists its own rules."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Verdict:
    rule: str
    needs_approval: bool
    explanation: str
    warning: bool = False

    def as_json(self):
        return asdict(self)


def needs_approval(verdicts):
    return any(verdict.needs_approval for verdict in verdicts)
