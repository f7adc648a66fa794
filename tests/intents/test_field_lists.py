"""The intent's field lists agree: what clients may set is written down once, in
``intents.services.EDITABLE_FIELDS``, and every other list is checked against it here."""

from __future__ import annotations

from django.db import models

from intents.admin import IntentAdminForm
from intents.imports import INTENT_FIELDS
from intents.models import Intent
from intents.serializers import SERVER_OWNED, IntentCreateInput, IntentOutput, IntentPatchInput
from intents.services import EDITABLE_FIELDS


def test_api_inputs_accept_exactly_the_editable_fields_and_status() -> None:
    assert set(IntentPatchInput().fields) == {*EDITABLE_FIELDS, "status"}
    assert set(IntentCreateInput().fields) == {"id", *EDITABLE_FIELDS, "status"}


def test_server_owned_fields_are_model_fields_no_client_may_set() -> None:
    concrete = [f for f in Intent._meta.get_fields() if f.concrete]
    stored = {f.name for f in concrete if not isinstance(f, models.GeneratedField)}
    assert set(SERVER_OWNED) <= stored
    assert not set(SERVER_OWNED) & set(EDITABLE_FIELDS)
    # Every stored field is the id, the status, editable or the server's (generated columns,
    # like quality_ok, the database computes).
    assert stored == {"id", "status", *EDITABLE_FIELDS, *SERVER_OWNED}


def test_admin_form_imports_and_output_cover_the_same_fields() -> None:
    assert IntentAdminForm._meta.fields == ["id", *EDITABLE_FIELDS, "status"]
    assert set(INTENT_FIELDS) == {"id", *EDITABLE_FIELDS, "status"} | {
        "created_at",
        "modified_at",
        "resolved_at",
    }
    assert set(IntentOutput.Meta.fields) == {"id", "status", *EDITABLE_FIELDS, *SERVER_OWNED}
