"""Schemathesis hooks for tests/test_schemathesis.py, loaded through SCHEMATHESIS_HOOKS.

The run is signed in as the first superuser. A generated case that changes that very account
through /api/v1/users/{user_id} (a new password or email, deactivation, deletion) would revoke
the run's token, and every later case would get the documented 401: conformant, but nothing
tested any more. Such a case is sent to a stand-in user instead, so the fuzzer still writes.
"""

import os
from typing import Any

import schemathesis
from schemathesis import Case
from schemathesis.hooks import HookContext

SIGNED_IN_USER_ID = os.environ.get("NEODYME_FUZZ_SIGNED_IN_USER_ID", "")
STAND_IN_USER_ID = os.environ.get("NEODYME_FUZZ_STAND_IN_USER_ID", "")


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    parameters = case.path_parameters or {}
    if case.method.upper() != "GET" and str(parameters.get("user_id")) == SIGNED_IN_USER_ID:
        parameters["user_id"] = STAND_IN_USER_ID
