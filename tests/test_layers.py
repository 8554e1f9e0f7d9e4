"""The layers hold: the console keeps its import-linter contracts, and an import that
breaks one is caught, naming the contract. The broken cases run on a copy of the code in a
temporary folder, so the tree itself is never touched. Also what the core hands up instead
of importing an app: a refusal reaches the audit trail through a signal."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from audit.models import AuditEvent, Outcome
from tests.conftest import api_client

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"]
LAYERS = "Apps import only the layers below them"
GATEWAYS = "The Stripe and Zendesk gateways import no app"
SANDBOX = "Production code imports no sandbox"


def lint_imports(cwd):
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def copy_of_the_code(folder):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, folder / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def test_the_console_keeps_its_contracts():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, imports, contract, broken", [
    ("audit/_probe.py", "finance.models", LAYERS, "audit is not allowed to import finance"),
    ("billing_console/_probe.py", "audit.services", LAYERS,
     "billing_console is not allowed to import audit"),
    ("credit_memos/_probe.py", "guidance.models", LAYERS,
     "credit_memos is not allowed to import guidance"),
    ("finance/_probe.py", "handover.selectors", LAYERS,
     "finance is not allowed to import handover"),
    ("handover/_probe.py", "administration.services", LAYERS,
     "handover is not allowed to import administration"),
    ("billing_console/integrations/stripe/_probe.py", "cases.models", GATEWAYS,
     "billing_console.integrations.stripe is not allowed to import cases"),
    ("refunds/_probe.py", "billing_console.integrations.stripe.sandbox", SANDBOX,
     "refunds._probe"),
])
def test_a_wrong_import_breaks_the_contract_it_crosses(tmp_path, module, imports, contract,
                                                       broken):
    code = copy_of_the_code(tmp_path)
    (code / module).write_text(f"import {imports}  # noqa: F401\n")

    result = lint_imports(code)

    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
    assert broken in " ".join(result.stdout.split())


def test_a_refused_api_call_is_audited_through_the_cores_signal(db, tier2):
    response = api_client(tier2).get("/api/v1/audit-events/")

    assert response.status_code == 403
    denial = AuditEvent.objects.get(action="access.denied")
    assert (denial.actor_username, denial.object_id, denial.outcome) == (
        "tier2", "GET /api/v1/audit-events/", Outcome.DENIED)
